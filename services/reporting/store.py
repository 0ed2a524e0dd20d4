"""Reporting's projection: one document per case, folded from events with idempotent, order-free updates."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, PyMongoError

from services.reporting.facts import Fact, fact_of
from shared.errors import TransientError
from shared.mongo import Document
from shared.serial import SerialCollection

COLLECTION = "reporting_facts"


class ReportingStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.facts: AsyncCollection[Document] = SerialCollection(db, COLLECTION)

    async def ensure_indexes(self) -> None:
        try:
            await self.facts.create_index("occurred_at")
        except PyMongoError as exc:
            raise TransientError(f"store unavailable: {type(exc).__name__}") from exc

    async def _upsert(self, selector: dict[str, Any], update: dict[str, Any]) -> bool:
        """Update or create the case's document; True when something changed."""
        try:
            result = await self.facts.update_one(selector, update, upsert=True)
        except DuplicateKeyError:
            # The document exists but the selector's condition excludes it (stale), or another
            # handler created it concurrently: apply to the existing document if the condition holds.
            result = await self.facts.update_one(selector, update)
        return bool(result.modified_count or result.upserted_id is not None)

    async def apply_triage(self, case_id: str, fields: dict[str, Any]) -> bool:
        """Take the triage part unless a later assessment (number, then event time) is already in."""
        number, at = fields["assessment_no"], fields["triaged_at"]
        selector = {
            "_id": case_id,
            "$or": [
                {"assessment_no": {"$exists": False}},
                {"assessment_no": {"$lt": number}},
                {"assessment_no": number, "triaged_at": {"$lt": at}},
            ],
        }
        return await self._upsert(selector, {"$set": fields})

    async def apply_first_time(self, case_id: str, field: str, at: datetime) -> bool:
        """Keep the earliest time for ``field`` (first notification sent / acknowledged)."""
        return await self._upsert({"_id": case_id}, {"$min": {field: at}})

    async def apply_followup(self, case_id: str, entry: dict[str, str]) -> bool:
        return await self._upsert({"_id": case_id}, {"$addToSet": {"followups": entry}})

    async def facts_between(self, low: datetime | None, high: datetime | None) -> list[Fact]:
        """The facts of triaged cases whose incident lies in [low, high)."""
        query: dict[str, Any] = {"assessment_no": {"$exists": True}}
        span: dict[str, datetime] = {}
        if low:
            span["$gte"] = low
        if high:
            span["$lt"] = high
        if span:
            query["occurred_at"] = span
        try:
            documents = await self.facts.find(query).to_list(None)
        except PyMongoError as exc:
            raise TransientError(f"store unavailable: {type(exc).__name__}") from exc
        return [f for f in (fact_of(d) for d in documents) if f is not None]
