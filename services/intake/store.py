"""Intake's collections: the case documents (each with its outbox) and idempotency keys."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, PyMongoError

from services.intake.errors import StoreUnavailable
from shared.mongo import Document


class CaseStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.cases: AsyncCollection[Document] = db["cases"]
        self.idempotency: AsyncCollection[Document] = db["intake_idempotency"]

    async def ensure_indexes(self) -> None:
        try:
            await self.cases.create_index("status")
        except PyMongoError as exc:
            raise StoreUnavailable(f"store unavailable: {type(exc).__name__}") from exc

    async def claim_key(self, key_id: str, fingerprint: str, case_id: str) -> Document | None:
        """Record a key for a case; returns the earlier claim if the key was used before."""
        try:
            await self.idempotency.insert_one({"_id": key_id, "fingerprint": fingerprint, "case_id": case_id})
        except DuplicateKeyError:
            return await self.idempotency.find_one({"_id": key_id})
        return None

    async def insert_case(self, case: Document, *, event_id: str, outbox: list[Document]) -> bool:
        """Store a new case with its first event to publish; False if it exists already."""
        try:
            await self.cases.insert_one({**case, "version": 1, "seen": [event_id], "outbox": outbox})
        except DuplicateKeyError:
            return False
        return True

    async def get(self, case_id: str) -> Document | None:
        return await self.cases.find_one({"_id": case_id}, {"outbox": 0, "seen": 0})

    async def load_for_update(self, case_id: str) -> Document | None:
        return await self.cases.find_one({"_id": case_id}, {"outbox": 0})

    async def apply(self, case: Document, *, event_id: str, set_fields: dict[str, Any], push: dict[str, Any]) -> bool:
        """Apply one event with optimistic concurrency and dedupe by event id; False on conflict."""
        result = await self.cases.update_one(
            {"_id": case["_id"], "version": case["version"]},
            {"$set": {**set_fields, "version": case["version"] + 1}, "$push": {"seen": event_id, **push}},
        )
        return result.matched_count == 1
