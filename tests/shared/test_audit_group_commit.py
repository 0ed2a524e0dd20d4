"""Concurrent audit appends on the real store: one unbroken chain, appended in batches, across two writers."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from prometheus_client import REGISTRY

from shared.store import mongo
from shared.web.audit import AuditLog
from tests.support.endpoints import Endpoints

pytestmark = pytest.mark.integration

REQUESTS = 60
KEY = b"test-audit-key"


async def test_concurrent_appends_from_two_writers_make_one_verified_chain(endpoints: Endpoints) -> None:
    app = f"audit-{uuid.uuid4().hex[:8]}"
    client = mongo.make_client(endpoints.mongodb_uri, app_name=f"weerbaar-{app}")
    try:
        db = client[f"test_audit_{uuid.uuid4().hex[:8]}"]
        intake, notify = AuditLog(db, service="intake", key=KEY), AuditLog(db, service="notify", key=KEY)
        entries = await asyncio.gather(
            *((intake if n % 2 else notify).record(None, "case.read", case_id=f"case-{n}") for n in range(REQUESTS))
        )
        verdict = await intake.verify()
    finally:
        await client.close()
    assert verdict.ok, verdict.problem
    assert verdict.entries == REQUESTS
    assert sorted(e["seq"] for e in entries) == list(range(1, REQUESTS + 1))
    assert sorted(e["case_id"] for e in entries) == sorted(f"case-{n}" for n in range(REQUESTS))
    labels = {"service": app, "collection": "audit", "command": "insert", "shape": "-", "outcome": "ok"}
    inserts = REGISTRY.get_sample_value("weerbaar_store_seconds_count", labels) or 0.0
    assert 0 < inserts < REQUESTS / 2  # group commit: most requests rode along in another's insert
