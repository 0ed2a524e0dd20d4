"""Intake's composition root."""

from __future__ import annotations

from fastapi import FastAPI

from services.intake.handlers import IntakeHandlers
from services.intake.limits import BodySizeLimit
from services.intake.service import IntakeService
from services.intake.settings import Settings
from services.intake.store import CaseStore
from shared.runtime import Runtime

SERVICE = "intake"


def create_app(settings: Settings) -> FastAPI:
    """Wire intake; nothing connects until the app starts."""
    runtime = Runtime.create(settings, service=SERVICE)
    store = CaseStore(runtime.db)
    runtime.on_startup.append(store.ensure_indexes)
    runtime.outbox.watch(store.cases)
    handlers = IntakeHandlers(runtime, store, IntakeService(runtime, store))
    handlers.register()
    app = runtime.build_app(title="weerbaar intake", routers=(handlers.router(),))
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    return app
