"""Intake settings (``WEERBAAR_*``)."""

from __future__ import annotations

from pydantic import Field

from shared.runtime.settings import CommonSettings


class Settings(CommonSettings):
    port: int = Field(default=8081, validation_alias="WEERBAAR_INTAKE_PORT")
    rate_limit_per_minute: int = Field(
        default=60, ge=1, le=100_000, description="POST /v1/incidents per token (sub) per minute; 429 beyond"
    )
    retention_days_closed: float = Field(
        default=730, gt=0, description="Closed cases are anonymised this many days after closing (fractions allowed)"
    )
    retention_sweep_interval_s: float = Field(default=3600.0, gt=0, description="How often the retention sweep runs")
    audit_anchor_interval_s: float = Field(
        default=60.0, gt=0, le=3600, description="How often the audit chain's head is anchored outside the database"
    )
    audit_verify_interval_s: float = Field(
        default=3600.0, gt=0, description="How often the whole audit chain is verified against its anchors"
    )
    handoff_trim_s: float = Field(
        default=10.0,
        gt=0,
        le=3600,
        description="How often the hand-off topics (incident.reported, .urgent) are trimmed behind their readers",
    )
    handoff_grace_s: float = Field(
        default=30.0,
        ge=0,
        le=86400,
        description="A record leaves a hand-off topic only once every reader had passed it this long ago",
    )
    outbox_confirm_after_s: float = Field(
        default=10.0,
        gt=0,
        le=600,
        description="A published event leaves its case at its next save, or after this long by a save of its own",
    )
