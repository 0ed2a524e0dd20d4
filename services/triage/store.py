"""Triage's assessments collection: one document per case, with its outbox."""

from __future__ import annotations

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, PyMongoError

from services.triage.errors import ConcurrentAssessment
from shared.errors import TransientError
from shared.mongo import Document


class AssessmentStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection: AsyncCollection[Document] = db["triage_assessments"]

    async def ensure_indexes(self) -> None:
        try:
            await self.collection.create_index("level")
        except PyMongoError as exc:
            raise TransientError(f"store unavailable: {type(exc).__name__}") from exc

    async def load(self, case_id: str) -> Document | None:
        return await self.collection.find_one({"_id": case_id}, {"outbox": 0})

    async def save(
        self, *, case_id: str, expected_version: int, state: Document, event_id: str, outbox: list[Document]
    ) -> None:
        """Write the new assessment, the processed event id and the events to publish in one operation."""
        if expected_version == 0:
            try:
                await self.collection.insert_one(
                    {"_id": case_id, "version": 1, "processed": [event_id], "outbox": outbox, **state}
                )
            except DuplicateKeyError as exc:
                raise ConcurrentAssessment("assessment created concurrently") from exc
            return
        result = await self.collection.update_one(
            {"_id": case_id, "version": expected_version},
            {
                "$set": {**state, "version": expected_version + 1},
                "$push": {"processed": event_id, "outbox": {"$each": outbox}},
            },
        )
        if result.matched_count != 1:
            raise ConcurrentAssessment("assessment changed concurrently")
