"""Intake's collections: cases (one document each, via the unit of work), timeline chunks, claims and links."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime

import pymongo
from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, PyMongoError

from services.intake.codec import CaseCodec, chunk_document, chunk_id, timeline_entry_of
from services.intake.domain import Case
from services.intake.errors import StoreUnavailable
from services.intake.values import TimelineEntry
from shared.security.crypto import DataCipher
from shared.store import mongo
from shared.store.aggregates import AggregateStore
from shared.store.mongo import Document
from shared.store.serial import SerialCollection

_DUPLICATE_KEY = 11000
START_SCAN_BUDGET_S = 300.0
"""How long the scan of every case at start may take in all (instead of the socket timeout per batch)."""
STORE_AWAY_S = 5.0
"""How long the store may take to answer a ping before the scan at start counts it as away."""


class Cases(AggregateStore[Case]):
    """Case aggregates: loaded once, saved with one write (``AggregateStore``), or added new with one insert."""


class Published:
    """Outgoing events of a case known to be on the broker (acknowledged): the case drops them at its next save.

    In memory only: after a crash the relay publishes what the cases still hold once more (consumers dedupe).
    """

    def __init__(self) -> None:
        self._by_case: dict[str, tuple[float, set[str]]] = {}

    def add(self, case_id: str, event_ids: set[str]) -> None:
        since, known = self._by_case.get(case_id, (time.monotonic(), set()))
        self._by_case[case_id] = (since, known | event_ids)

    def of(self, case_id: str) -> set[str]:
        return self._by_case.get(case_id, (0.0, set()))[1]

    def settled(self, case_id: str, event_ids: set[str]) -> None:
        """The case was saved without ``event_ids``."""
        since, known = self._by_case.get(case_id, (0.0, set()))
        left = known - event_ids
        if left:
            self._by_case[case_id] = (since, left)
        else:
            self._by_case.pop(case_id, None)

    def waiting_longer_than(self, seconds: float) -> list[str]:
        cutoff = time.monotonic() - seconds
        return [case_id for case_id, (since, _) in self._by_case.items() if since <= cutoff]

    def __len__(self) -> int:
        return len(self._by_case)


class CaseRepository(ABC):
    """What intake keeps, whatever keeps it: the unit of work over cases and their timeline chunks, the claims of
    incidents and Idempotency-Keys, the pseudonym links. ``CaseStore`` keeps it in MongoDB; the unit tests keep it
    in memory (``tests/intake/fakes.py``)."""

    codec: CaseCodec
    published: Published
    watchers: list[Callable[[Case], None]]
    """Told of every case this process saved (in memory, no I/O: e.g. the queue's index)."""

    @asynccontextmanager
    async def case(
        self, case_id: str, *, shed_published: bool = False, presume_new: bool = False
    ) -> AsyncIterator[Case]:
        """The case (a case not opened yet when none is stored) as one unit: loaded once, saved once if changed.

        On the way out, timeline chunks the case moved out are written first (the case no longer holds them). A case
        that is saved anyway sheds the outgoing events known to be published, without a write of their own;
        ``shed_published`` saves it for that alone. ``presume_new``: a case this process knows nothing of is taken to
        be new without a read (``AggregateStore.unit``).
        """
        async with self._unit(case_id, presume_new=presume_new) as case:
            yield case
            await self._write_chunks(case)
            shed = self.published.of(case_id) if case.changed or shed_published else set()
            case.published(shed)
        self.published.settled(case_id, shed)
        if case.changed:
            self._tell_watchers(case)

    async def add(self, case: Case) -> None:
        """A new case (its id just claimed): stored with one insert, no read before it."""
        await self._write_chunks(case)
        await self._insert(case)
        self._tell_watchers(case)

    def _tell_watchers(self, case: Case) -> None:
        for watcher in self.watchers:
            watcher(case)

    async def timeline(self, case: Case) -> list[TimelineEntry]:
        """The whole timeline: the chunks moved out of the case (one read each), then the entries it holds."""
        older: list[TimelineEntry] = []
        for number in range(case.timeline_chunks):
            older.extend(await self._chunk(case.case_id, number))
        return older + case.timeline

    async def _write_chunks(self, case: Case) -> None:
        if case.new_chunks:
            await self._insert_chunks([chunk_document(case.case_id, chunk) for chunk in case.new_chunks])
            case.new_chunks.clear()

    @abstractmethod
    def _unit(self, case_id: str, *, presume_new: bool = False) -> AbstractAsyncContextManager[Case]: ...

    @abstractmethod
    async def _insert(self, case: Case) -> None: ...

    @abstractmethod
    async def _insert_chunks(self, documents: list[Document]) -> None: ...

    @abstractmethod
    async def _chunk(self, case_id: str, number: int) -> list[TimelineEntry]: ...

    @abstractmethod
    async def get(self, case_id: str) -> Case | None:
        """The case as it stands (no lock; from what this process last wrote or read when it can)."""

    @abstractmethod
    async def with_outbox(self, limit: int = 500) -> list[str]:
        """Cases whose outbox holds events (what a crash left)."""

    @abstractmethod
    async def closed_before(self, cutoff: datetime, *, limit: int) -> list[str]:
        """Closed, not yet erased cases closed before ``cutoff`` (retention counts from closing)."""

    @abstractmethod
    def every_case(self) -> AsyncIterator[Case]:
        """Every opened case as stored (without its timeline and bookkeeping): read once, at start, by the queue."""

    @abstractmethod
    async def claim_key(self, key_id: str, claim: Document) -> Document:
        """Record what an Idempotency-Key stands for; returns the claim that holds (an earlier one wins)."""

    @abstractmethod
    async def claim_incident(self, dedup_key: str, case_id: str) -> str:
        """The case an incident belongs to: the first report's case wins."""

    @abstractmethod
    async def link(self, keys: list[str], case_id: str) -> dict[str, list[str]]:
        """Add the case under each key (office holder, perpetrator); returns the other cases per key."""

    @abstractmethod
    async def forget(self, case_id: str) -> None:
        """Drop what still ties an erased case to a person: pseudonym links, dedup and idempotency claims."""

    @abstractmethod
    async def parked_earlier(self) -> dict[str, list[tuple[str, str]]]:
        """Events that an earlier version of intake parked for cases not opened yet: (kind, JSON) per case, in order.

        Since then such events go into the case itself (a case not opened yet); these are adopted once at start.
        """

    @abstractmethod
    async def drop_parked(self, case_id: str) -> None:
        """The case's parked events are in the case now."""


class CaseStore(CaseRepository):
    def __init__(self, db: AsyncDatabase[Document], cipher: DataCipher) -> None:
        self.codec = CaseCodec(cipher)
        self.cases = Cases(SerialCollection(db, "cases"), self.codec)
        self.timeline_chunks: AsyncCollection[Document] = SerialCollection(db, "intake_timeline")
        self.idempotency: AsyncCollection[Document] = SerialCollection(db, "intake_idempotency")
        self.dedup: AsyncCollection[Document] = SerialCollection(db, "intake_dedup")
        self.links: AsyncCollection[Document] = SerialCollection(db, "intake_links")
        self.parked: AsyncCollection[Document] = SerialCollection(db, "intake_parked_events")
        self.published = Published()
        self.watchers = []

    async def ensure_indexes(self) -> None:
        try:
            await self.cases.collection.create_index("status")
        except PyMongoError as exc:
            raise StoreUnavailable(f"store unavailable: {type(exc).__name__}") from exc

    def _unit(self, case_id: str, *, presume_new: bool = False) -> AbstractAsyncContextManager[Case]:
        return self.cases.unit(case_id, new=lambda: Case(case_id), presume_new=presume_new)

    async def _insert(self, case: Case) -> None:
        # A case id fresh from the dedup claim has no document and nothing cached: one insert, no read before it.
        await self.cases.add(case.case_id, case)

    async def get(self, case_id: str) -> Case | None:
        return await self.cases.peek(case_id)

    async def _chunk(self, case_id: str, number: int) -> list[TimelineEntry]:
        chunk = await self.timeline_chunks.find_one({"_id": chunk_id(case_id, number)})
        return [timeline_entry_of(e) for e in (chunk or {}).get("entries", [])]

    async def _insert_chunks(self, documents: list[Document]) -> None:
        try:
            await self.timeline_chunks.insert_many(documents, ordered=False)
        except BulkWriteError as exc:
            # Written before by a unit that did not get to save the case (a crash, a stale version): the same
            # events give the same chunk, but write it again to be sure it is this one.
            for error in exc.details.get("writeErrors", []):
                if error.get("code") != _DUPLICATE_KEY:
                    raise
                again = documents[int(error["index"])]
                await self.timeline_chunks.replace_one({"_id": again["_id"]}, again)

    async def with_outbox(self, limit: int = 500) -> list[str]:
        # Scans the whole collection on FerretDB: the relay looks only at start.
        cursor = self.cases.collection.find({"outbox.0": {"$exists": True}}, {"_id": 1}).limit(limit)
        return [str(doc["_id"]) for doc in await cursor.to_list(None)]

    async def closed_before(self, cutoff: datetime, *, limit: int) -> list[str]:
        cursor = self.cases.collection.find(
            {"status": "closed", "closed_at": {"$lt": cutoff}, "erased": {"$exists": False}}, {"_id": 1}
        ).limit(limit)
        return [str(doc["_id"]) for doc in await cursor.to_list(None)]

    async def every_case(self) -> AsyncIterator[Case]:
        # One scan at start (FerretDB decodes every document for any filter anyway); what changes later reaches the
        # queue through ``watchers``. The scan has a budget of its own: on a large store that is busy (a backlog
        # being drained at start) one batch can take longer than the per-command socket timeout, and a scan that
        # failed on that timeout made intake exit at start, again at every restart. A store error is transient
        # here, so the start-up retries. The cases are collected before the first is handed out: the budget is a
        # context setting, and a generator suspended inside it would lend it to whatever its caller does meanwhile.
        projection = {"timeline": 0, "outbox": 0, "seen": 0}
        opened: list[Case] = []
        # The budget covers server selection too: a store that is away must fail fast (a transient error), not
        # after the whole budget.
        await mongo.ping(self.cases.collection.database, STORE_AWAY_S)
        try:
            with pymongo.timeout(START_SCAN_BUDGET_S):
                async for document in self.cases.collection.find({}, projection, batch_size=500):
                    case = self.codec.from_document({**document, "timeline": [], "outbox": [], "seen": []})
                    if case.opened:
                        opened.append(case)
        except PyMongoError as exc:
            raise StoreUnavailable(f"reading the cases at start failed: {type(exc).__name__}") from exc
        for case in opened:
            yield case

    async def claim_key(self, key_id: str, claim: Document) -> Document:
        return await self._claim(self.idempotency, key_id, claim)

    async def claim_incident(self, dedup_key: str, case_id: str) -> str:
        claim = await self._claim(self.dedup, dedup_key, {"case_id": case_id})
        return str(claim["case_id"])

    async def _claim(self, collection: AsyncCollection[Document], key: str, claim: Document) -> Document:
        found = await collection.find_one_and_update(
            {"_id": key}, {"$setOnInsert": claim}, upsert=True, return_document=ReturnDocument.AFTER
        )
        assert found is not None
        return found

    async def link(self, keys: list[str], case_id: str) -> dict[str, list[str]]:
        others: dict[str, list[str]] = {}
        for key in keys:
            doc = await self.links.find_one_and_update(
                {"_id": key}, {"$addToSet": {"case_ids": case_id}}, upsert=True, return_document=ReturnDocument.AFTER
            )
            others[key] = [c for c in (doc or {}).get("case_ids", []) if c != case_id]
        return others

    async def forget(self, case_id: str) -> None:
        await self.links.update_many({"case_ids": case_id}, {"$pullAll": {"case_ids": [case_id]}})
        await self.links.delete_many({"case_ids": {"$size": 0}})  # a pseudonym that links no case is kept by nobody
        await self.dedup.delete_many({"case_id": case_id})
        await self.idempotency.delete_many({"case_id": case_id})

    async def parked_earlier(self) -> dict[str, list[tuple[str, str]]]:
        found: dict[str, list[tuple[str, str]]] = {}
        async for doc in self.parked.find({}):
            events = sorted((doc.get("events") or {}).values(), key=lambda entry: entry["parked_at"])
            found[str(doc["_id"])] = [(str(entry["kind"]), str(entry["value"])) for entry in events]
        return found

    async def drop_parked(self, case_id: str) -> None:
        await self.parked.delete_one({"_id": case_id})
