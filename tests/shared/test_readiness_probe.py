"""Readiness reads the store (a query on an existing collection, within the readiness timeout), not only a ping."""

from __future__ import annotations

import asyncio
import time
import uuid
from types import SimpleNamespace
from typing import Any, cast

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from shared.runtime.errors import Unavailable
from shared.runtime.service import Runtime
from shared.store import mongo
from shared.store.mongo import Document


class _Answers:
    """A database stand-in: a ping answers at once, a find_one after ``find_s``; what was read is noted."""

    def __init__(self, find_s: float) -> None:
        self.client = object()
        self.name = f"fake_{uuid.uuid4().hex}"
        self.find_s = find_s
        self.created: list[str] = []
        self.read: list[str] = []

    async def command(self, name: str) -> dict[str, Any]:
        return {"ok": 1.0}

    async def create_collection(self, name: str) -> None:
        self.created.append(name)

    def __getitem__(self, name: str) -> Any:
        async def find_one(selector: dict[str, Any]) -> None:
            assert selector == {"_id": mongo.READY_PROBE_ID}
            await asyncio.sleep(self.find_s)
            self.read.append(name)

        return SimpleNamespace(find_one=find_one)


def _runtime(db: _Answers, probe: list[str]) -> Any:
    async def broker_ping(timeout: float) -> bool:
        return True

    return SimpleNamespace(
        service="triage",
        settings=SimpleNamespace(readiness_timeout_s=0.2),
        broker=SimpleNamespace(ping=broker_ping),
        db=db,
        ready_probe_collections=probe,
        subscribers=[],
        progress=None,
    )


async def test_a_store_that_answers_pings_but_not_queries_is_unready() -> None:
    stuck = _Answers(find_s=10.0)
    started = time.monotonic()
    problems = await Runtime.readiness(_runtime(stuck, []))
    assert time.monotonic() - started < 2.0, "the query waited past the readiness timeout"
    assert problems == {"store": "store query unanswered: TimeoutError"}
    assert stuck.created == ["triage_readyz"], "the default probe collection, created so the query reaches a table"


async def test_readiness_reads_each_named_collection_and_creates_each_once() -> None:
    db = _Answers(find_s=0.0)
    for _ in range(2):
        assert await Runtime.readiness(_runtime(db, ["triage_assessments", "triage_history"])) == {}
    assert db.read == ["triage_assessments", "triage_history"] * 2
    assert db.created == ["triage_assessments", "triage_history"]


@pytest.mark.integration
async def test_the_probe_creates_its_collection_on_the_real_store_and_reads_it(store: AsyncDatabase[Document]) -> None:
    name = f"readyz_{uuid.uuid4().hex[:8]}"
    await mongo.probe(store, [name], 5.0)
    await mongo.probe(store, [name], 5.0)  # exists now: nothing to create, the query alone
    assert name in await store.list_collection_names()
    with pytest.raises(Unavailable):
        await mongo.probe(cast(AsyncDatabase[Document], _Answers(find_s=10.0)), [name], 0.1)
