"""Concurrent writes to one document on the real store: none is lost, the version check admits exactly one."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from shared.messaging.lanes import AcuteGate, routine
from shared.store.mongo import Document
from shared.store.serial import SerialCollection, single_id

pytestmark = pytest.mark.integration

WRITERS = 40


async def test_concurrent_pushes_to_one_document_all_arrive(store: AsyncDatabase[Document]) -> None:
    docs = SerialCollection(store, "serial_pushes")
    doc_id = uuid.uuid4().hex
    await docs.insert_one({"_id": doc_id, "seen": [], "count": 0})

    async def push(n: int) -> None:
        await docs.update_one({"_id": doc_id}, {"$push": {"seen": n}, "$inc": {"count": 1}})

    await asyncio.gather(*(push(n) for n in range(WRITERS)))
    doc = await docs.find_one({"_id": doc_id})
    assert doc is not None
    assert sorted(doc["seen"]) == list(range(WRITERS))
    assert doc["count"] == WRITERS


async def test_only_one_of_concurrent_version_checked_updates_matches(store: AsyncDatabase[Document]) -> None:
    docs = SerialCollection(store, "serial_versions")
    doc_id = uuid.uuid4().hex
    await docs.insert_one({"_id": doc_id, "version": 1, "writers": []})

    async def attempt(n: int) -> int:
        result = await docs.update_one({"_id": doc_id, "version": 1}, {"$set": {"version": 2}, "$push": {"writers": n}})
        return result.matched_count

    matched = await asyncio.gather(*(attempt(n) for n in range(WRITERS)))
    doc = await docs.find_one({"_id": doc_id})
    assert doc is not None
    assert sum(matched) == 1
    assert len(doc["writers"]) == 1
    assert doc["version"] == 2


async def test_a_many_document_write_does_not_undo_single_document_writes(store: AsyncDatabase[Document]) -> None:
    docs = SerialCollection(store, "serial_many")
    tag = uuid.uuid4().hex
    ids = [f"{tag}-{n}" for n in range(5)]
    for doc_id in ids:
        await docs.insert_one({"_id": doc_id, "tag": tag, "n": 0, "flag": False})

    async def bump(doc_id: str) -> None:
        for _ in range(5):
            await docs.update_one({"_id": doc_id}, {"$inc": {"n": 1}})

    await asyncio.gather(*(bump(i) for i in ids), docs.update_many({"tag": tag}, {"$set": {"flag": True}}))
    found = await docs.find({"tag": tag}).to_list(None)
    assert {d["_id"]: (d["n"], d["flag"]) for d in found} == dict.fromkeys(ids, (5, True))


def test_a_filter_names_one_document_only_by_a_plain_id() -> None:
    assert single_id({"_id": "abc", "version": 3}) == "abc"
    assert single_id({"_id": 7}) == 7
    assert single_id({"_id": {"$in": ["a", "b"]}}) is None
    assert single_id({"case_id": "abc"}) is None


async def test_a_conditional_upsert_creates_then_only_a_matching_update_applies(store: AsyncDatabase[Document]) -> None:
    docs = SerialCollection(store, "serial_upserts")
    doc_id = uuid.uuid4().hex

    def newer_than(number: int) -> dict[str, object]:
        return {"_id": doc_id, "$or": [{"n": {"$exists": False}}, {"n": {"$lt": number}}]}

    created = await docs.update_one(newer_than(2), {"$set": {"n": 2}}, upsert=True)
    assert created.upserted_id == doc_id
    stale = await docs.update_one(newer_than(1), {"$set": {"n": 1}})
    assert stale.matched_count == 0
    with pytest.raises(DuplicateKeyError):
        await docs.update_one(newer_than(1), {"$set": {"n": 1}}, upsert=True)
    newer = await docs.update_one(newer_than(3), {"$set": {"n": 3}}, upsert=True)
    assert newer.modified_count == 1
    assert await docs.find_one({"_id": doc_id}) == {"_id": doc_id, "n": 3}


async def test_a_guarded_claim_is_won_once_and_counted_by_its_condition(store: AsyncDatabase[Document]) -> None:
    docs = SerialCollection(store, "serial_claims")
    doc_id = uuid.uuid4().hex
    await docs.insert_one({"_id": doc_id, "resend_no": 0, "acknowledged": False})

    async def claim() -> object:
        return await docs.find_one_and_update(
            {"_id": doc_id, "resend_no": 0, "acknowledged": {"$ne": True}}, {"$inc": {"resend_no": 1}}
        )

    won = [c for c in await asyncio.gather(*(claim() for _ in range(10))) if c is not None]
    assert len(won) == 1
    assert await docs.count_documents({"_id": doc_id, "resend_no": 1}) == 1
    assert await docs.count_documents({"_id": doc_id, "acknowledged": True}) == 0
    assert await docs.count_documents({"_id": "no-such-document", "acknowledged": False}) == 0


async def test_the_adapter_never_holds_a_command_up_for_the_acute_lane_its_callers_decide_where_to_wait(
    store: AsyncDatabase[Document],
) -> None:
    docs = SerialCollection(store, "serial_lanes")
    gate = AcuteGate(30.0)
    routine_id = uuid.uuid4().hex
    gate.hold(uuid.uuid4().hex)
    with routine(gate, routine_id):  # a routine sweep in the middle of its item: the item finishes
        await asyncio.wait_for(docs.insert_one({"_id": routine_id}), 10)
    assert await docs.find_one({"_id": routine_id}) is not None


async def test_held_read_modify_writes_of_one_document_all_apply_in_turn(store: AsyncDatabase[Document]) -> None:
    docs = SerialCollection(store, "serial_held")
    doc_id = uuid.uuid4().hex
    await docs.insert_one({"_id": doc_id, "version": 1, "n": 0, "log": []})

    async def increment(writer: int) -> bool:
        async with docs.holding(doc_id) as held:
            doc = await held.read({"log": 0})
            assert doc is not None
            await asyncio.sleep(0)  # every other writer gets its turn to try here
            return await held.update(
                {"version": doc["version"]},
                {"$set": {"version": doc["version"] + 1, "n": doc["n"] + 1}, "$push": {"log": writer}},
            )

    applied = await asyncio.gather(*(increment(w) for w in range(WRITERS)))
    doc = await docs.find_one({"_id": doc_id})
    assert doc is not None
    assert all(applied), "a held write found its own read stale"
    assert (doc["n"], doc["version"], sorted(doc["log"])) == (WRITERS, WRITERS + 1, list(range(WRITERS)))


async def test_a_held_update_whose_condition_fails_writes_nothing(store: AsyncDatabase[Document]) -> None:
    docs = SerialCollection(store, "serial_held_conditions")
    doc_id = uuid.uuid4().hex
    await docs.insert_one({"_id": doc_id, "version": 3, "n": 0})
    async with docs.holding(doc_id) as held:
        assert await held.read() == {"_id": doc_id, "version": 3, "n": 0}
        assert not await held.update({"version": 2}, {"$set": {"n": 1}})
        assert not await held.update({"version": 2}, {"$set": {"n": 2}}), "decided by the store once the read is spent"
    async with docs.holding(doc_id) as held:
        assert await held.read({"version": 0}) == {"_id": doc_id, "n": 0}
        assert await held.update({"version": 3}, {"$set": {"n": 3}}), "a condition the read left out goes to the store"
    async with docs.holding("no-such-document") as held:
        assert await held.read() is None
        assert not await held.update({}, {"$set": {"n": 1}})
    assert await docs.find_one({"_id": doc_id}) == {"_id": doc_id, "version": 3, "n": 3}
