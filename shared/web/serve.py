"""Run a service's app under uvicorn with JSON logging and graceful shutdown on SIGTERM/SIGINT."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TypeVar

import structlog
import uvicorn
from fastapi import FastAPI
from pydantic import ValidationError

from shared.runtime import tracing
from shared.runtime.logging import configure_logging
from shared.runtime.settings import CommonSettings

S = TypeVar("S", bound=CommonSettings)


def load_settings(service: str, settings_type: type[S]) -> S:
    """The service's settings from the environment, or exit with a message naming each setting at fault.

    Outside dev mode a missing key is such a fault: the service refuses to start rather than run unprotected.
    """
    try:
        return settings_type()
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error.get("loc", ()))
            message = str(error.get("msg", "")).removeprefix("Value error, ")
            problems.append(f"WEERBAAR_{where.upper()}: {message}" if where else message)
        sys.exit(f"{service} refuses to start: " + "; ".join(problems))


def serve(service: str, settings: S, create_app: Callable[[S], FastAPI], *, port: int) -> None:
    configure_logging(service, settings.log_level)
    if settings.dev_mode:
        structlog.get_logger("weerbaar.serve").warning(
            "dev_mode",
            detail="WEERBAAR_DEV_MODE=true: keys not configured come from this checkout's .cache/dev-keys; "
            "never run production like this",
        )
    if tracing.configure(service, settings):
        structlog.get_logger("weerbaar.serve").info("tracing_on", otlp_endpoint=settings.otlp_endpoint)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=20,
    )
