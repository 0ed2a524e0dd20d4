"""The audit trail on the real store and broker: keyed chain, anchors on their topic, `weerbaar audit verify`, the
scheduled check's metric."""

from __future__ import annotations

import hashlib
import json
import subprocess
import uuid
from collections.abc import AsyncIterator

import pytest
from prometheus_client import REGISTRY
from pymongo.asynchronous.database import AsyncDatabase

from shared.messaging.kafka import EventPublisher, make_broker
from shared.messaging.kafka_auth import operator_options
from shared.runtime.settings import CommonSettings
from shared.store.mongo import Document
from shared.web.anchors import AnchorReader, AuditAnchoring, AuditWatch
from shared.web.audit import _HASHED, AuditLog, entry_hash
from tests.support.cli import operator_env, weerbaar
from tests.support.endpoints import Endpoints

pytestmark = pytest.mark.e2e

KEY = CommonSettings().audit_secret  # the checkout's dev key, as the CLI below reads it


@pytest.fixture
async def log(endpoints: Endpoints, store: AsyncDatabase[Document]) -> AsyncIterator[AuditLog]:
    """A log of its own (its own database: anchors name their log), 8 entries, anchored on the real topic."""
    db = store.client[f"{store.name}_audit_{uuid.uuid4().hex[:6]}"]
    audit = AuditLog(db, service="test", key=KEY)
    for n in range(8):
        await audit.record(None, "case.read", case_id=f"case-{n}")
    broker = make_broker(bootstrap=endpoints.kafka_bootstrap, service="test-audit", security=operator_options())
    await broker.start()
    try:
        anchored = await AuditAnchoring(audit, EventPublisher(broker, source="/test"), service="test").anchor()
        assert anchored is not None
        assert anchored.seq == 8
        yield audit
    finally:
        await broker.stop()
        await store.client.drop_database(db.name)


def _verify_cli(endpoints: Endpoints, db: str) -> subprocess.CompletedProcess[str]:
    return weerbaar("audit", "verify", env=operator_env(endpoints, db, WEERBAAR_DEV_MODE="true"))


async def test_verify_passes_then_names_an_entry_altered_directly_in_the_store(
    log: AuditLog, endpoints: Endpoints
) -> None:
    intact = _verify_cli(endpoints, log.name)
    assert intact.returncode == 0, intact.stderr
    assert "8 entries, 1 anchors match" in intact.stdout

    await log.entries.update_one({"_id": 5}, {"$set": {"reason": "nobody looked at this case"}})
    altered = _verify_cli(endpoints, log.name)
    assert altered.returncode == 1
    assert "BROKEN at entry 5" in altered.stderr
    assert "altered" in altered.stderr


async def test_a_chain_recomputed_without_the_key_fails(log: AuditLog, endpoints: Endpoints) -> None:
    """An insider with database credentials edits entry 3 and recomputes every hash after it (and the head) with
    the unkeyed SHA-256 of the old chain: the keyed hashes no longer match from entry 3 on."""
    entries = await log.entries.find({}).sort("seq", 1).to_list(None)
    prev = entries[1]["hash"]
    for entry in entries[2:]:
        if entry["seq"] == 3:
            entry["case_id"] = "case-rewritten"
        entry["prev_hash"] = prev
        canonical = json.dumps({k: entry.get(k) for k in _HASHED}, sort_keys=True, separators=(",", ":"))
        entry["hash"] = prev = hashlib.sha256(canonical.encode()).hexdigest()
        await log.entries.replace_one({"_id": entry["_id"]}, entry)
    await log.head.update_one({"_id": "head"}, {"$set": {"hash": prev}})

    rewritten = _verify_cli(endpoints, log.name)
    assert rewritten.returncode == 1
    assert "BROKEN at entry 3" in rewritten.stderr


async def test_a_chain_rewritten_with_the_key_still_fails_against_its_anchor(
    log: AuditLog, endpoints: Endpoints
) -> None:
    """Even someone holding the key cannot rewrite unseen: the head anchored on the topic is not the rewritten one."""
    entries = await log.entries.find({}).sort("seq", 1).to_list(None)
    prev = entries[2]["hash"]
    for entry in entries[3:]:
        if entry["seq"] == 4:
            entry["outcome"] = "denied"
        entry["prev_hash"] = prev
        entry["hash"] = prev = entry_hash(entry, KEY)
        await log.entries.replace_one({"_id": entry["_id"]}, entry)
    await log.head.update_one({"_id": "head"}, {"$set": {"hash": prev}})
    assert (await log.verify()).ok, "without its anchors the rewritten chain looks whole"

    rewritten = _verify_cli(endpoints, log.name)
    assert rewritten.returncode == 1
    assert "BROKEN at entry 8" in rewritten.stderr
    assert "not what its anchor says" in rewritten.stderr


async def test_a_tail_deleted_after_it_was_anchored_fails(log: AuditLog, endpoints: Endpoints) -> None:
    last = await log.entries.find_one({"_id": 7})
    assert last is not None
    await log.entries.delete_one({"_id": 8})
    await log.head.update_one({"_id": "head"}, {"$set": {"seq": 7, "hash": last["hash"]}})
    truncated = _verify_cli(endpoints, log.name)
    assert truncated.returncode == 1
    assert "BROKEN at entry 8" in truncated.stderr
    assert "anchored, then deleted" in truncated.stderr


async def test_the_scheduled_check_counts_a_failure_in_its_metric(log: AuditLog, endpoints: Endpoints) -> None:
    watch = AuditWatch(log, AnchorReader(endpoints.kafka_bootstrap, operator_options()), service="test-watch")

    def failures() -> float:
        sample = REGISTRY.get_sample_value("weerbaar_audit_verify_failures_total", {"service": "test-watch"})
        return sample or 0.0

    before = failures()
    assert (await watch.check()).ok
    assert failures() == before
    await log.entries.update_one({"_id": 2}, {"$set": {"outcome": "denied"}})
    verdict = await watch.check()
    assert not verdict.ok
    assert verdict.broken == 2
    assert failures() == before + 1
