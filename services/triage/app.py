"""Triage's composition root."""

from __future__ import annotations

from fastapi import FastAPI

from services.triage.handlers import TriageHandlers
from services.triage.policy import load_policy
from services.triage.service import Triage
from services.triage.settings import Settings
from services.triage.store import ASSESSMENTS, History, HistoryStore, assessment_store
from shared.runtime.service import Runtime
from shared.security.case_keys import CaseKeys

SERVICE = "triage"


def create_app(settings: Settings) -> FastAPI:
    """Wire triage; the policy is validated here (a bad policy refuses to start), nothing connects yet."""
    policy = load_policy(settings.policy_path)
    runtime = Runtime.create(settings, service=SERVICE)
    assessments = assessment_store(runtime.db)
    history_store = HistoryStore(runtime.db)
    history = History(history_store, holders=settings.history_cache)
    runtime.on_startup.append(history_store.ensure_reachable)
    runtime.ready_probe_collections.append(ASSESSMENTS)  # readiness reads what triage writes
    keys = CaseKeys(runtime.db, runtime.cipher)
    triage = Triage(
        assessments=assessments,
        history=history,
        publisher=runtime.publisher,
        policy=policy,
        pseudonym_key=settings.pseudonym_secret,
        source=f"/weerbaar/{SERVICE}",
        opener=keys,
    )
    # Partitions moved: those cases may be another process's now (and erased by it).
    runtime.forgetful += [assessments.forget, history.forget, triage.forget, keys.forget]
    TriageHandlers(runtime, triage).register()
    return runtime.build_app(title="weerbaar triage")
