"""Intake settings (``WEERBAAR_*``)."""

from __future__ import annotations

from pydantic import Field

from shared.settings import CommonSettings


class Settings(CommonSettings):
    port: int = Field(default=8081, validation_alias="WEERBAAR_INTAKE_PORT")
    max_body_bytes: int = Field(default=256 * 1024, ge=1024, description="Larger request bodies get 413")
