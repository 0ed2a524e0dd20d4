"""The unit of work on the real store: one read at most, one write per change, none for nothing, none on error."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from shared.messaging.lanes import AcuteGate, routine
from shared.store.aggregates import AggregateStore, StaleAggregate
from shared.store.mongo import Document
from shared.store.serial import SerialCollection
from tests.support.commands import Commands
from tests.support.endpoints import Endpoints

pytestmark = pytest.mark.integration


@dataclass
class Tally:
    """A toy aggregate: a counter and the event ids it applied."""

    count: int = 0
    applied: list[str] = field(default_factory=list)

    def apply(self, event_id: str) -> None:
        if event_id not in self.applied:
            self.applied.append(event_id)
            self.count += 1


class TallyCodec:
    def to_document(self, aggregate: Tally) -> Document:
        return {"count": aggregate.count, "applied": list(aggregate.applied)}

    def from_document(self, document: Document) -> Tally:
        return Tally(count=document["count"], applied=list(document["applied"]))


@dataclass
class Fixture:
    tallies: AggregateStore[Tally]
    commands: Commands
    db: AsyncDatabase[Document]


@pytest.fixture
async def fixture(endpoints: Endpoints, run_id: str) -> AsyncIterator[Fixture]:
    name = f"tallies_{uuid.uuid4().hex[:8]}"
    commands = Commands(name)
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        endpoints.mongodb_uri, tz_aware=True, event_listeners=[commands]
    )
    db = client[f"test_{run_id}"]
    yield Fixture(AggregateStore(SerialCollection(db, name), TallyCodec()), commands, db)
    await client.close()


async def test_a_unit_reads_once_and_writes_once_and_the_next_unit_reads_nothing(fixture: Fixture) -> None:
    tally_id = uuid.uuid4().hex
    async with fixture.tallies.unit(tally_id, new=Tally) as tally:
        tally.apply("e1")
        tally.apply("e2")
    assert fixture.commands.seen == {"find": 1, "insert": 1}
    async with fixture.tallies.unit(tally_id, new=Tally) as tally:
        tally.apply("e3")
    assert fixture.commands.seen == {"find": 1, "insert": 1, "update": 1}, "what it wrote it keeps"
    stored = await fixture.db[fixture.tallies.collection.name].find_one({"_id": tally_id})
    assert stored is not None
    assert (stored["count"], stored["applied"], stored["version"]) == (3, ["e1", "e2", "e3"], 2)


async def test_an_unchanged_aggregate_is_not_written(fixture: Fixture) -> None:
    tally_id = uuid.uuid4().hex
    async with fixture.tallies.unit(tally_id, new=Tally) as tally:
        tally.apply("e1")
    async with fixture.tallies.unit(tally_id, new=Tally) as tally:
        tally.apply("e1")  # a redelivery: nothing changes
    assert fixture.commands.seen == {"find": 1, "insert": 1}


async def test_an_error_in_the_unit_writes_nothing(fixture: Fixture) -> None:
    tally_id = uuid.uuid4().hex

    async def refused() -> None:
        async with fixture.tallies.unit(tally_id, new=Tally) as tally:
            tally.apply("e1")
            raise RuntimeError("the domain refused")

    with pytest.raises(RuntimeError):
        await refused()
    assert await fixture.tallies.peek(tally_id) is None
    assert fixture.commands.seen["insert"] == 0


async def test_a_forgotten_aggregate_is_read_again_from_the_store(fixture: Fixture) -> None:
    tally_id = uuid.uuid4().hex
    async with fixture.tallies.unit(tally_id, new=Tally) as tally:
        tally.apply("e1")
    # another process (after a rebalance) adds an event behind this one's back
    await fixture.db[fixture.tallies.collection.name].update_one(
        {"_id": tally_id}, {"$set": {"count": 2, "applied": ["e1", "e2"], "version": 2}}
    )
    fixture.tallies.forget()
    async with fixture.tallies.unit(tally_id, new=Tally) as tally:
        tally.apply("e3")
    assert tally.applied == ["e1", "e2", "e3"]
    peeked = await fixture.tallies.peek(tally_id)
    assert peeked is not None
    assert peeked.count == 3


async def test_concurrent_units_on_one_aggregate_lose_nothing(fixture: Fixture) -> None:
    tally_id = uuid.uuid4().hex

    async def add(n: int) -> None:
        async with fixture.tallies.unit(tally_id, new=Tally) as tally:
            await asyncio.sleep(0)  # let the others try to get in between
            tally.apply(f"e{n}")

    await asyncio.gather(*(add(n) for n in range(30)))
    fixture.tallies.forget()
    stored = await fixture.tallies.peek(tally_id)
    assert stored is not None
    assert stored.count == 30
    assert sorted(stored.applied) == sorted(f"e{n}" for n in range(30))


async def test_adding_an_aggregate_that_exists_is_refused_as_stale_and_keeps_the_stored_one(fixture: Fixture) -> None:
    tally_id = uuid.uuid4().hex
    await fixture.tallies.add(tally_id, Tally(count=1, applied=["e1"]))
    fixture.tallies.forget()
    with pytest.raises(StaleAggregate):
        await fixture.tallies.add(tally_id, Tally(count=5, applied=["x"]))
    stored = await fixture.tallies.peek(tally_id)
    assert stored is not None
    assert (stored.count, stored.applied) == (1, ["e1"]), "the retry loads what is stored and applies to it"


async def test_new_aggregates_routine_work_saves_at_the_same_moment_go_to_the_store_in_one_insert(
    fixture: Fixture,
) -> None:
    ids = [f"case-{n}" for n in range(12)]
    with routine(AcuteGate(hold_s=5)):  # the cases of a routine batch
        await asyncio.gather(*(fixture.tallies.add(i, Tally(count=1, applied=[f"e-{i}"])) for i in ids))
    assert fixture.commands.seen["insert"] == 1, "one insert for the twelve"
    stored = await fixture.db[fixture.tallies.collection.name].find({}).to_list()
    assert sorted(d["_id"] for d in stored) == sorted(ids)


async def test_acute_work_inserts_at_once_and_joins_no_group(fixture: Fixture) -> None:
    await asyncio.gather(*(fixture.tallies.add(f"acute-{n}", Tally(count=1)) for n in range(3)))
    assert fixture.commands.seen["insert"] == 3, "each on its own, never queued behind a routine group"


async def test_in_a_group_insert_only_the_aggregate_that_exists_is_refused(fixture: Fixture) -> None:
    await fixture.tallies.add("taken", Tally(count=7))
    with routine(AcuteGate(hold_s=5)):
        outcomes = await asyncio.gather(
            *(fixture.tallies.add(i, Tally(count=1)) for i in ("fresh-1", "taken", "fresh-2")), return_exceptions=True
        )
    assert [type(o).__name__ for o in outcomes] == ["NoneType", "StaleAggregate", "NoneType"]
    stored = {d["_id"]: d["count"] for d in await fixture.db[fixture.tallies.collection.name].find({}).to_list()}
    assert stored == {"taken": 7, "fresh-1": 1, "fresh-2": 1}, "the one that existed is left as it was"


async def test_add_many_stores_the_new_and_names_those_that_existed(fixture: Fixture) -> None:
    await fixture.tallies.add("old", Tally(count=3))
    existed = await fixture.tallies.add_many([("old", Tally(count=1)), ("new", Tally(count=1))])
    assert existed == {"old"}
    stored = {d["_id"]: d["count"] for d in await fixture.db[fixture.tallies.collection.name].find({}).to_list()}
    assert stored == {"old": 3, "new": 1}


async def test_a_unit_presumed_new_reads_nothing_and_one_that_exists_after_all_is_read_on_the_retry(
    fixture: Fixture,
) -> None:
    async with fixture.tallies.unit("fresh", new=Tally, presume_new=True) as tally:
        tally.apply("e-1")
    assert fixture.commands.seen == {"insert": 1}, "no read before the insert"

    other = AggregateStore(fixture.tallies.collection, TallyCodec())  # knows nothing: "fresh" is presumed new
    with pytest.raises(StaleAggregate):
        async with other.unit("fresh", new=Tally, presume_new=True) as tally:
            tally.apply("e-2")
    async with other.unit("fresh", new=Tally, presume_new=True) as tally:  # the retry reads what is stored
        tally.apply("e-2")
    stored = await fixture.db[fixture.tallies.collection.name].find_one({"_id": "fresh"})
    assert stored is not None
    assert stored["applied"] == ["e-1", "e-2"], "nothing lost, nothing applied twice"


async def _stored_counts(fixture: Fixture) -> dict[str, int]:
    return {d["_id"]: d["count"] for d in await fixture.db[fixture.tallies.collection.name].find({}).to_list()}


async def test_changed_aggregates_routine_work_saves_at_the_same_moment_go_to_the_store_together(
    fixture: Fixture,
) -> None:
    ids = [f"case-{n}" for n in range(12)]
    await asyncio.gather(*(fixture.tallies.add(i, Tally(count=1, applied=["e-1"])) for i in ids))

    async def change(tally_id: str) -> None:
        async with fixture.tallies.unit(tally_id, new=Tally) as tally:
            tally.apply("e-2")

    with routine(AcuteGate(hold_s=5)):  # the cases of a routine batch, each ending with its own save
        await asyncio.gather(*(change(i) for i in ids))
    # The first saves may go alone while the others are still on their way; those queue meanwhile and go together.
    assert 0 < fixture.commands.seen["update"] < len(ids) / 2, "most replaces rode along in another's command"
    assert await _stored_counts(fixture) == dict.fromkeys(ids, 2)
    fixture.tallies.forget()
    async with fixture.tallies.unit("case-0", new=Tally) as tally:
        tally.apply("e-3")
    assert tally.applied == ["e-1", "e-2", "e-3"], "the version moved on as a single replace would have moved it"


async def test_acute_work_replaces_at_once_and_joins_no_group(fixture: Fixture) -> None:
    await asyncio.gather(*(fixture.tallies.add(f"acute-{n}", Tally(count=1)) for n in range(3)))

    async def change(tally_id: str) -> None:
        async with fixture.tallies.unit(tally_id, new=Tally) as tally:
            tally.apply("e-2")

    await asyncio.gather(*(change(f"acute-{n}") for n in range(3)))
    assert fixture.commands.seen["update"] == 3, "each on its own, never queued behind a routine group"


async def test_in_a_group_replace_only_the_aggregate_whose_document_is_gone_is_refused(fixture: Fixture) -> None:
    ids = ["kept-1", "gone", "kept-2"]
    for tally_id in ids:
        await fixture.tallies.add(tally_id, Tally(count=1))
    await fixture.db[fixture.tallies.collection.name].delete_one({"_id": "gone"})  # behind this process's back

    async def change(tally_id: str) -> None:
        async with fixture.tallies.unit(tally_id, new=Tally) as tally:
            tally.apply("e-2")

    with routine(AcuteGate(hold_s=5)):
        outcomes = await asyncio.gather(*(change(i) for i in ids), return_exceptions=True)
    assert [type(o).__name__ for o in outcomes] == ["NoneType", "StaleAggregate", "NoneType"]
    assert await _stored_counts(fixture) == {"kept-1": 2, "kept-2": 2}
    async with fixture.tallies.unit("gone", new=Tally) as tally:  # the retry reads the store: a new aggregate
        tally.apply("e-2")
    assert await _stored_counts(fixture) == {"kept-1": 2, "kept-2": 2, "gone": 1}


async def test_a_group_write_the_store_cannot_take_fails_every_caller_of_it_and_none_waits_for_ever(
    fixture: Fixture, endpoints: Endpoints
) -> None:
    ids = [f"case-{n}" for n in range(3)]
    for tally_id in ids:
        await fixture.tallies.add(tally_id, Tally(count=1))
    await fixture.db.client.close()  # the store is gone for this process

    async def change(tally_id: str) -> None:
        async with fixture.tallies.unit(tally_id, new=Tally) as tally:
            tally.apply("e-2")

    with routine(AcuteGate(hold_s=5)):
        outcomes = await asyncio.wait_for(asyncio.gather(*(change(i) for i in ids), return_exceptions=True), 30)
    assert all(isinstance(o, PyMongoError) for o in outcomes), outcomes
    other: AsyncMongoClient[Document] = AsyncMongoClient(endpoints.mongodb_uri, tz_aware=True)
    try:
        stored = await other[fixture.db.name][fixture.tallies.collection.name].find({}).to_list()
    finally:
        await other.close()
    assert {d["_id"]: d["count"] for d in stored} == dict.fromkeys(ids, 1), "nothing half-written"
