"""Run a service's app under uvicorn with JSON logging and graceful shutdown on SIGTERM/SIGINT."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import uvicorn
from fastapi import FastAPI

from shared.logging import configure_logging
from shared.settings import CommonSettings

S = TypeVar("S", bound=CommonSettings)


def serve(service: str, settings: S, create_app: Callable[[S], FastAPI], *, port: int) -> None:
    configure_logging(service, settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=20,
    )
