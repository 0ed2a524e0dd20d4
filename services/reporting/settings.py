"""Reporting settings (``WEERBAAR_*``)."""

from __future__ import annotations

from pydantic import Field

from shared.settings import CommonSettings


class Settings(CommonSettings):
    port: int = Field(default=8084, validation_alias="WEERBAAR_REPORTING_PORT")
    disclosure_threshold: int = Field(default=5, ge=1, le=100, description="Cells under this count are suppressed")
