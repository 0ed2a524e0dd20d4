"""Intake's collections: case documents (each with its outbox), idempotency keys, dedup claims and links."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, PyMongoError

from services.intake.errors import CaseNotFound, StoreUnavailable
from shared.mongo import Document
from shared.serial import HeldDocument, SerialCollection


class CaseEdit:
    """A case read under its write lock, and the one event to apply to it."""

    def __init__(self, held: HeldDocument, case: Document | None) -> None:
        self._held = held
        self.case = case

    async def apply(
        self,
        *,
        event_id: str,
        set_fields: dict[str, Any],
        push: dict[str, Any],
        outbox: list[Document] | None = None,
    ) -> bool:
        """Apply one event with optimistic concurrency and dedupe by event id; False on conflict."""
        if self.case is None:
            raise CaseNotFound("the case is not opened yet")
        pushes: dict[str, Any] = {"seen": event_id, **push}
        if outbox:
            pushes["outbox"] = {"$each": outbox}
        version = self.case["version"]
        return await self._held.update(
            {"version": version}, {"$set": {**set_fields, "version": version + 1}, "$push": pushes}
        )


class CaseStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.cases = SerialCollection(db, "cases")
        self.idempotency: AsyncCollection[Document] = SerialCollection(db, "intake_idempotency")
        self.dedup: AsyncCollection[Document] = SerialCollection(db, "intake_dedup")
        self.links: AsyncCollection[Document] = SerialCollection(db, "intake_links")
        self.parked: AsyncCollection[Document] = SerialCollection(db, "intake_parked_events")

    async def ensure_indexes(self) -> None:
        try:
            await self.cases.create_index("status")
        except PyMongoError as exc:
            raise StoreUnavailable(f"store unavailable: {type(exc).__name__}") from exc

    async def find_key(self, key_id: str) -> Document | None:
        return await self.idempotency.find_one({"_id": key_id})

    async def claim_key(self, key_id: str, claim: Document) -> Document:
        """Record what an Idempotency-Key stands for; returns the claim that holds (an earlier one wins)."""
        return await self._claim(self.idempotency, key_id, claim)

    async def claim_incident(self, dedup_key: str, case_id: str) -> str:
        """The case an incident belongs to: the first report's case wins."""
        claim = await self._claim(self.dedup, dedup_key, {"case_id": case_id})
        return str(claim["case_id"])

    async def _claim(self, collection: AsyncCollection[Document], key: str, claim: Document) -> Document:
        found = await collection.find_one_and_update(
            {"_id": key}, {"$setOnInsert": claim}, upsert=True, return_document=ReturnDocument.AFTER
        )
        assert found is not None
        return found

    async def link(self, keys: list[str], case_id: str) -> dict[str, list[str]]:
        """Add the case under each key (office holder, perpetrator); returns the other cases per key."""
        others: dict[str, list[str]] = {}
        for key in keys:
            doc = await self.links.find_one_and_update(
                {"_id": key}, {"$addToSet": {"case_ids": case_id}}, upsert=True, return_document=ReturnDocument.AFTER
            )
            others[key] = [c for c in (doc or {}).get("case_ids", []) if c != case_id]
        return others

    async def insert_case(self, case: Document, *, event_id: str, outbox: list[Document]) -> bool:
        """Store a new case with its first event to publish; False if it exists already."""
        try:
            await self.cases.insert_one({**case, "version": 1, "seen": [event_id], "outbox": outbox})
        except DuplicateKeyError:
            return False
        return True

    async def get(self, case_id: str) -> Document | None:
        return await self.cases.find_one({"_id": case_id}, {"outbox": 0, "seen": 0})

    @asynccontextmanager
    async def editing(self, case_id: str) -> AsyncIterator[CaseEdit]:
        """The case (None if not opened yet) read under its write lock, to be changed by one ``apply``.

        Nothing else of this store may touch the case inside the block (it would wait for the lock)."""
        async with self.cases.holding(case_id) as held:
            yield CaseEdit(held, await held.read({"outbox": 0}))

    async def forget(self, case_id: str) -> None:
        """Drop what still ties an erased case to a person: pseudonym links, dedup and idempotency claims."""
        await self.links.update_many({"case_ids": case_id}, {"$pullAll": {"case_ids": [case_id]}})
        await self.dedup.delete_many({"case_id": case_id})
        await self.idempotency.delete_many({"case_id": case_id})
        await self.parked.delete_one({"_id": case_id})

    async def closed_before(self, cutoff: datetime, *, limit: int) -> list[str]:
        """Closed, not yet erased cases last changed before ``cutoff`` (retention)."""
        cursor = self.cases.find(
            {"status": "closed", "updated_at": {"$lt": cutoff}, "erased": {"$exists": False}}, {"_id": 1}
        ).limit(limit)
        return [str(doc["_id"]) for doc in await cursor.to_list(None)]

    async def park(self, *, case_id: str, event_id: str, kind: str, value: str) -> None:
        """Keep an event about a case that is not opened yet, to apply once it is (no partition waits for it).

        One document per case, events keyed by id: reads stay ``_id`` look-ups and a redelivery overwrites itself.
        """
        entry = {"kind": kind, "value": value, "parked_at": datetime.now(UTC)}
        await self.parked.update_one({"_id": case_id}, {"$set": {f"events.{event_id}": entry}}, upsert=True)

    async def parked_for(self, case_id: str) -> list[Document]:
        doc = await self.parked.find_one({"_id": case_id})
        events = (doc or {}).get("events") or {}
        ordered = sorted(events.items(), key=lambda item: item[1]["parked_at"])
        return [{"event_id": event_id, **entry} for event_id, entry in ordered]

    async def unpark(self, case_id: str, event_id: str) -> None:
        await self.parked.update_one({"_id": case_id}, {"$unset": {f"events.{event_id}": ""}})
