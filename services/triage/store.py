"""Triage's collections: one assessment document per case (with its outbox), and incident history per office holder.

Only non-personal data is stored: pseudonyms, codes, levels and factor explanations from the policy — never names,
contact details or the free text of a report.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, PyMongoError

from services.triage.domain import HistoryEntry
from services.triage.errors import ConcurrentAssessment
from shared.contracts.events import RiskLevel
from shared.contracts.incident import Channel, IncidentType
from shared.errors import TransientError
from shared.mongo import Document
from shared.serial import SerialCollection


class AssessmentStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection: AsyncCollection[Document] = SerialCollection(db, "triage_assessments")

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


def _entry(event_id: str, doc: Document) -> HistoryEntry:
    return HistoryEntry(
        case_id=doc["case_id"],
        event_id=event_id,
        occurred_at=doc["occurred_at"],
        channel=Channel(doc["channel"]),
        level=RiskLevel(doc["level"]),
        types=tuple(IncidentType(t) for t in doc["types"]),
        perpetrator_repeat=bool(doc.get("perpetrator_repeat", False)),
    )


class HistoryStore:
    """Earlier incidents per office holder: one document per keyed pseudonym, entries keyed by event id.

    One document per person keeps every read an ``_id`` look-up (FerretDB scans the whole collection for any other
    query) and makes recording idempotent: a redelivered event overwrites its own entry.
    """

    def __init__(self, db: AsyncDatabase[Document], *, limit: int = 500) -> None:
        self.collection: AsyncCollection[Document] = SerialCollection(db, "triage_history")
        self._limit = limit

    async def ensure_indexes(self) -> None:
        try:
            await self.collection.find_one({"_id": "-"})
        except PyMongoError as exc:
            raise TransientError(f"store unavailable: {type(exc).__name__}") from exc

    async def earlier(
        self, office_holder_ref: str, *, around: datetime, window_days: int, exclude_event: str
    ) -> list[HistoryEntry]:
        """Incidents against this office holder within the window, except the one being assessed."""
        doc = await self.collection.find_one({"_id": office_holder_ref})
        window = timedelta(days=window_days)
        entries = [
            _entry(event_id, entry)
            for event_id, entry in ((doc or {}).get("entries") or {}).items()
            if event_id != exclude_event and abs(entry["occurred_at"] - around) <= window
        ]
        entries.sort(key=lambda e: e.occurred_at, reverse=True)
        return entries[: self._limit]

    async def record(self, entry: HistoryEntry, *, office_holder_ref: str) -> None:
        """Idempotent by event id: a redelivered event overwrites its own entry."""
        doc = {
            "case_id": entry.case_id,
            "occurred_at": entry.occurred_at,
            "channel": entry.channel.value,
            "level": entry.level.value,
            "types": [t.value for t in entry.types],
            "perpetrator_repeat": entry.perpetrator_repeat,
        }
        await self.collection.update_one(
            {"_id": office_holder_ref}, {"$set": {f"entries.{entry.event_id}": doc}}, upsert=True
        )
