"""Triage's composition root."""

from __future__ import annotations

from fastapi import FastAPI

from services.triage.handlers import TriageHandlers
from services.triage.settings import Settings
from services.triage.store import AssessmentStore
from shared.runtime import Runtime

SERVICE = "triage"


def create_app(settings: Settings) -> FastAPI:
    """Wire triage; nothing connects until the app starts."""
    runtime = Runtime.create(settings, service=SERVICE)
    store = AssessmentStore(runtime.db)
    runtime.on_startup.append(store.ensure_indexes)
    runtime.outbox.watch(store.collection)
    TriageHandlers(runtime, store).register()
    return runtime.build_app(title="weerbaar triage")
