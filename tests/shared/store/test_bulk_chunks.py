"""Bulk writes through SerialCollection go to the real store in chunks that FerretDB cannot wedge on, all applied."""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import Sequence
from typing import Any

import pytest
from pymongo import DeleteOne, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from shared.store.mongo import Document
from shared.store.serial import BULK_CHUNK, SerialCollection

pytestmark = pytest.mark.integration

OPERATIONS = 250
DEADLINE_S = 30.0  # a wedged FerretDB database never answers; a chunked write of 250 takes a second or two


@pytest.fixture
def commands(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of every bulk command sent; a command of 100 or more fails here instead of wedging the shared store."""
    sizes: list[int] = []
    bulk_write, insert_many = AsyncCollection.bulk_write, AsyncCollection.insert_many

    def checked(operations: Sequence[Any]) -> None:
        sizes.append(len(operations))
        assert len(operations) < 100, f"a bulk command of {len(operations)} operations would wedge FerretDB"

    async def guarded_bulk_write(self: Any, requests: Any, *args: Any, **kwargs: Any) -> Any:
        checked(requests)
        return await bulk_write(self, requests, *args, **kwargs)

    async def guarded_insert_many(self: Any, documents: Any, *args: Any, **kwargs: Any) -> Any:
        checked(documents)
        return await insert_many(self, documents, *args, **kwargs)

    monkeypatch.setattr(AsyncCollection, "bulk_write", guarded_bulk_write)
    monkeypatch.setattr(AsyncCollection, "insert_many", guarded_insert_many)
    return sizes


def _sent_in_chunks(sizes: list[int], total: int) -> None:
    assert sum(sizes) == total
    assert len(sizes) == math.ceil(total / BULK_CHUNK)
    assert max(sizes) <= BULK_CHUNK < 100


async def test_a_bulk_write_of_250_updates_applies_all(store: AsyncDatabase[Document], commands: list[int]) -> None:
    docs = SerialCollection(store, "bulk_updates")
    tag = uuid.uuid4().hex
    ids = [f"{tag}-{n:03}" for n in range(OPERATIONS)]
    await docs.insert_many([{"_id": doc_id, "tag": tag, "n": 0} for doc_id in ids])
    commands.clear()

    result = await asyncio.wait_for(
        docs.bulk_write(
            [UpdateOne({"_id": doc_id}, {"$inc": {"n": 1}, "$set": {"at": i}}) for i, doc_id in enumerate(ids)]
        ),
        DEADLINE_S,
    )

    _sent_in_chunks(commands, OPERATIONS)
    assert (result.matched_count, result.modified_count, result.upserted_count) == (OPERATIONS, OPERATIONS, 0)
    found = await docs.find({"tag": tag}).to_list(None)
    assert {d["_id"]: (d["n"], d["at"]) for d in found} == {doc_id: (1, i) for i, doc_id in enumerate(ids)}


async def test_an_insert_many_of_250_inserts_all_in_order(store: AsyncDatabase[Document], commands: list[int]) -> None:
    docs = SerialCollection(store, "bulk_inserts")
    tag = uuid.uuid4().hex
    ids = [f"{tag}-{n:03}" for n in range(OPERATIONS)]

    result = await asyncio.wait_for(docs.insert_many([{"_id": doc_id, "tag": tag} for doc_id in ids]), DEADLINE_S)

    _sent_in_chunks(commands, OPERATIONS)
    assert result.inserted_ids == ids
    assert await docs.count_documents({"tag": tag}) == OPERATIONS


async def test_upserts_and_deletes_count_over_all_chunks(store: AsyncDatabase[Document], commands: list[int]) -> None:
    docs = SerialCollection(store, "bulk_mixed")
    tag = uuid.uuid4().hex
    ids = [f"{tag}-{n:03}" for n in range(OPERATIONS)]

    created = await asyncio.wait_for(
        docs.bulk_write([UpdateOne({"_id": doc_id}, {"$set": {"tag": tag}}, upsert=True) for doc_id in ids]),
        DEADLINE_S,
    )
    assert created.upserted_ids == dict(enumerate(ids))

    removed = await asyncio.wait_for(docs.bulk_write([DeleteOne({"_id": doc_id}) for doc_id in ids[50:]]), DEADLINE_S)
    assert removed.deleted_count == OPERATIONS - 50
    assert await docs.count_documents({"tag": tag}) == 50


async def test_an_ordered_insert_stops_at_the_first_error_counted_over_all_chunks(
    store: AsyncDatabase[Document], commands: list[int]
) -> None:
    """What the audit log relies on: ``nInserted`` and the error's index over the whole list, nothing after it."""
    docs = SerialCollection(store, "bulk_ordered")
    tag = uuid.uuid4().hex
    ids = [f"{tag}-{n:03}" for n in range(OPERATIONS)]
    taken = 2 * BULK_CHUNK + 7
    await docs.insert_one({"_id": ids[taken], "tag": tag})
    commands.clear()

    with pytest.raises(BulkWriteError) as failed:
        await asyncio.wait_for(docs.insert_many([{"_id": doc_id, "tag": tag} for doc_id in ids]), DEADLINE_S)

    assert failed.value.details["nInserted"] == taken
    assert [e["index"] for e in failed.value.details["writeErrors"]] == [taken]
    assert len(commands) == 3, "the chunks after the failed one are not sent"
    assert await docs.count_documents({"tag": tag}) == taken + 1
