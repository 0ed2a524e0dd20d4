"""Reporting's composition root."""

from __future__ import annotations

from fastapi import FastAPI

from services.reporting.handlers import ReportingHandlers
from services.reporting.settings import Settings
from services.reporting.store import ReportingStore
from shared.runtime import Runtime

SERVICE = "reporting"


def create_app(settings: Settings) -> FastAPI:
    """Wire reporting; nothing connects until the app starts."""
    runtime = Runtime.create(settings, service=SERVICE)
    store = ReportingStore(runtime.db)
    runtime.on_startup.append(store.ensure_indexes)
    handlers = ReportingHandlers(runtime, store, settings)
    handlers.register()
    return runtime.build_app(title="weerbaar reporting", routers=(handlers.router(),))
