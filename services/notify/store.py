"""Notify's collections: what it knows of each case, and one document per notification with its outbox."""

from __future__ import annotations

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, PyMongoError

from shared.contracts.incident import IncidentReport
from shared.errors import TransientError
from shared.mongo import Document


class NotifyStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.cases: AsyncCollection[Document] = db["notify_cases"]
        self.notifications: AsyncCollection[Document] = db["notify_notifications"]

    async def ensure_indexes(self) -> None:
        try:
            await self.notifications.create_index([("case_id", 1), ("recipient", 1)])
        except PyMongoError as exc:
            raise TransientError(f"store unavailable: {type(exc).__name__}") from exc

    async def remember_report(self, case_id: str, report_id: str, report: IncidentReport) -> None:
        """Keep the first report of a case (later reports of the same case only add a report id)."""
        await self.cases.update_one(
            {"_id": case_id},
            {"$setOnInsert": {"report": report.model_dump(mode="json")}, "$addToSet": {"report_ids": report_id}},
            upsert=True,
        )

    async def report_of(self, case_id: str) -> IncidentReport | None:
        doc = await self.cases.find_one({"_id": case_id})
        return IncidentReport.model_validate(doc["report"]) if doc else None

    async def create_notification(self, doc: Document) -> bool:
        """Insert a notification with its outbox; False when it exists already (a redelivery)."""
        try:
            await self.notifications.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True
