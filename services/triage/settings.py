"""Triage settings (``WEERBAAR_*``)."""

from __future__ import annotations

from pydantic import Field

from shared.settings import CommonSettings


class Settings(CommonSettings):
    port: int = Field(default=8082, validation_alias="WEERBAAR_TRIAGE_PORT")
