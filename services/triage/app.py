"""Triage's composition root."""

from __future__ import annotations

from fastapi import FastAPI

from services.triage.handlers import TriageHandlers
from services.triage.policy import load_policy
from services.triage.settings import Settings
from services.triage.store import AssessmentStore, HistoryStore
from shared.runtime import Runtime

SERVICE = "triage"


def create_app(settings: Settings) -> FastAPI:
    """Wire triage; the policy is validated here (a bad policy refuses to start), nothing connects yet."""
    policy = load_policy(settings.policy_path)
    runtime = Runtime.create(settings, service=SERVICE)
    store = AssessmentStore(runtime.db)
    history = HistoryStore(runtime.db)
    runtime.on_startup += [store.ensure_indexes, history.ensure_indexes]
    runtime.outbox.watch(store.collection)
    TriageHandlers(runtime, store, history, policy).register()
    return runtime.build_app(title="weerbaar triage")
