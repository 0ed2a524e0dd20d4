"""Triage settings (``WEERBAAR_*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from services.triage.policy import DEFAULT_POLICY_PATH
from shared.runtime.settings import CommonSettings


class Settings(CommonSettings):
    port: int = Field(default=8082, validation_alias="WEERBAAR_TRIAGE_PORT")
    policy_path: Path = Field(
        default=DEFAULT_POLICY_PATH,
        validation_alias="WEERBAAR_TRIAGE_POLICY",
        description="The risk policy (YAML) to assess with; validated at start-up",
    )
    history_cache: int = Field(
        default=20_000,
        ge=0,
        validation_alias="WEERBAAR_TRIAGE_HISTORY_CACHE",
        description="Office holders whose incident history this process keeps in memory; 0 when several triage "
        "processes share one store (each would miss what the others add)",
    )
