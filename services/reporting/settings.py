"""Reporting settings (``WEERBAAR_*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from services.reporting.disclosure import Method
from shared.runtime.settings import CommonSettings


class Settings(CommonSettings):
    port: int = Field(default=8084, validation_alias="WEERBAAR_REPORTING_PORT")
    disclosure_threshold: int = Field(default=5, ge=1, le=100, description="Cells under this count are suppressed")
    population_path: Path | None = Field(
        default=None, description="YAML population table for share_affected (default: the committed one)"
    )
    stats_debounce_s: float = Field(
        default=5.0,
        gt=0,
        le=300,
        description="While facts change, the stats topic is republished at most once per this many seconds",
    )
    disclosure_method: Method = Field(
        default=Method.CONSISTENT,
        description="consistent: closed periods, small cells suppressed, counts randomly rounded by cell key; "
        "per_table: the old per-table suppression of exact counts (only to demonstrate the attacks it allows)",
    )
    rounding_base: int = Field(default=5, ge=1, le=100, description="Shown counts are rounded to a multiple of this")
    release_lag_days: int = Field(
        default=7,
        ge=0,
        le=366,
        description="A month, quarter, year or council term is published this long after it ends",
    )
