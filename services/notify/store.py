"""Notify's collections: what it knows of each case, one document per notification with its timers and outbox.

Every state change and the events it causes are one single-document write (outbox inside the document).
Timers (``due_at`` for acknowledgement, ``webhook.next_at`` for delivery, ``followup_due_at`` on the case) live in
the documents, so they survive a restart; sweepers claim due work with a guarded ``find_one_and_update``, so two
sweeps never fire the same timer twice. (FerretDB's findAndModify takes no projection: claims return whole documents.)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, PyMongoError

from shared.contracts.incident import IncidentReport
from shared.crypto import DataCipher
from shared.errors import TransientError
from shared.mongo import Document
from shared.serial import SerialCollection
from shared.settings import CommonSettings

ERASED = "erased"
_SEALED_FIELDS = ("payload", "record")

_OVERDUE_FIELDS = {"_id": 1, "followup_due_at": 1, "followup_overdue_at": 1, "police_notification_id": 1, "level": 1}


class NotifyStore:
    def __init__(self, db: AsyncDatabase[Document], cipher: DataCipher | None = None) -> None:
        self._cipher = cipher or DataCipher.from_settings(CommonSettings())
        self.cases: AsyncCollection[Document] = SerialCollection(db, "notify_cases")
        self.notifications: AsyncCollection[Document] = SerialCollection(db, "notify_notifications")
        self.deliveries: AsyncCollection[Document] = SerialCollection(db, "notify_deliveries")

    async def ensure_indexes(self) -> None:
        try:
            await self.notifications.create_index([("case_id", 1), ("recipient", 1)])
            await self.notifications.create_index([("due_at", 1)])
            await self.notifications.create_index([("webhook.next_at", 1)])
            await self.cases.create_index([("followup_due_at", 1)])
            await self.deliveries.create_index([("notification_id", 1), ("attempt", 1)])
        except PyMongoError as exc:
            raise TransientError(f"store unavailable: {type(exc).__name__}") from exc

    # --- encryption at rest: a notification's payload and record, a case's report ---------------------------------
    def _seal(self, doc: Document) -> Document:
        sealed = {k: v for k, v in doc.items() if k not in _SEALED_FIELDS}
        plain = {k: doc[k] for k in _SEALED_FIELDS if k in doc}
        sealed["sealed"] = self._cipher.seal_json(plain, context=f"notify/notification/{doc['_id']}")
        return sealed

    def _open(self, doc: Document | None) -> Document | None:
        if doc is None or "sealed" not in doc:
            return doc
        sealed = doc.pop("sealed")
        if sealed != ERASED:
            doc.update(self._cipher.open_json(str(sealed), context=f"notify/notification/{doc['_id']}"))
        return doc

    async def forget_case(self, case_id: str) -> int:
        """Drop the personal data of an erased case: its report, notification payloads, pending sends and timers."""
        await self.cases.update_one({"_id": case_id}, {"$set": {"report": ERASED, "erased": True}}, upsert=True)
        await self.notifications.update_many(
            {"case_id": case_id, "webhook.state": "pending"}, {"$set": {"webhook.state": ERASED}}
        )
        result = await self.notifications.update_many(
            {"case_id": case_id},
            {"$set": {"sealed": ERASED, "erased": True, "due_at": None, "outbox": []}},
        )
        return result.modified_count

    async def case_details(self, case_id: str) -> tuple[bool, IncidentReport | None]:
        """(erased, the first report) of a case, with one look-up."""
        doc = await self.cases.find_one({"_id": case_id})
        if doc is not None and doc.get("erased"):
            return True, None
        return False, self._report(case_id, doc)

    # --- cases -------------------------------------------------------------------------------------------------
    async def remember_report(self, case_id: str, report_id: str, report: IncidentReport) -> None:
        """Keep the first report of a case (later reports of the same case only add a report id)."""
        await self.cases.update_one(
            {"_id": case_id},
            {
                "$setOnInsert": {
                    "report": self._cipher.seal_json(report.model_dump(mode="json"), context=f"notify/case/{case_id}")
                },
                "$addToSet": {"report_ids": report_id},
            },
            upsert=True,
        )

    def _report(self, case_id: str, doc: Document | None) -> IncidentReport | None:
        if not doc or not isinstance(doc.get("report"), str) or doc["report"] == ERASED:
            return None
        return IncidentReport.model_validate(self._cipher.open_json(doc["report"], context=f"notify/case/{case_id}"))

    async def expect_followup(self, case_id: str, *, due_at: datetime, notification_id: str, level: str) -> None:
        """Start the follow-up clock once per case (a re-triage does not restart it)."""
        await self.cases.update_one(
            {"_id": case_id, "followup_due_at": {"$exists": False}},
            {"$set": {"followup_due_at": due_at, "police_notification_id": notification_id, "level": level}},
        )

    async def record_followup(self, case_id: str, *, event_id: str, kind: str) -> None:
        await self.cases.update_one(
            {"_id": case_id},
            {"$set": {"followup_received": True, "last_followup_kind": kind}, "$addToSet": {"followup_ids": event_id}},
            upsert=True,
        )

    async def due_followup(self, now: datetime) -> Document | None:
        return await self.cases.find_one(
            {"followup_due_at": {"$lte": now}, "followup_received": {"$ne": True}, "followup_overdue": {"$ne": True}},
            {"report": 0},
        )

    async def claim_followup_overdue(self, case_id: str, *, now: datetime, outbox: list[Document]) -> bool:
        claimed = await self.cases.find_one_and_update(
            {"_id": case_id, "followup_received": {"$ne": True}, "followup_overdue": {"$ne": True}},
            {"$set": {"followup_overdue": True, "followup_overdue_at": now}, "$push": {"outbox": {"$each": outbox}}},
        )
        return claimed is not None

    async def overdue_followups(self, limit: int = 500) -> list[Document]:
        cursor = self.cases.find({"followup_overdue": True, "followup_received": {"$ne": True}}, _OVERDUE_FIELDS).limit(
            limit
        )
        return await cursor.to_list(None)

    # --- notifications -----------------------------------------------------------------------------------------
    async def create_notification(self, doc: Document) -> bool:
        """Insert a notification with its outbox; False when it exists already (a redelivery)."""
        try:
            await self.notifications.insert_one(self._seal(doc))
        except DuplicateKeyError:
            return False
        return True

    async def notification(self, notification_id: str) -> Document | None:
        return self._open(await self.notifications.find_one({"_id": notification_id}, {"outbox": 0}))

    async def acknowledge(self, notification_id: str, *, by: str, at: datetime, outbox: list[Document]) -> bool:
        """Mark acknowledged and stop its timer; False when unknown or acknowledged already (idempotent)."""
        result = await self.notifications.update_one(
            {"_id": notification_id, "acknowledged": {"$ne": True}},
            {
                "$set": {
                    "acknowledged": True,
                    "acknowledged_by": by,
                    "acknowledged_at": at,
                    "state": "acknowledged",
                    "due_at": None,
                },
                "$push": {"outbox": {"$each": outbox}},
            },
        )
        return result.modified_count == 1

    async def due_for_ack(self, now: datetime) -> Document | None:
        return self._open(
            await self.notifications.find_one({"due_at": {"$lte": now}, "acknowledged": {"$ne": True}}, {"outbox": 0})
        )

    async def claim_escalation(
        self, doc: Document, *, next_due: datetime | None, outbox: list[Document]
    ) -> Document | None:
        """Claim a due timer: only the sweep that still sees the same re-send number wins."""
        return self._open(
            await self.notifications.find_one_and_update(
                {"_id": doc["_id"], "resend_no": doc["resend_no"], "acknowledged": {"$ne": True}},
                {
                    "$set": {"due_at": next_due, "state": "escalated"},
                    "$inc": {"resend_no": 1},
                    "$push": {"outbox": {"$each": outbox}},
                },
                return_document=ReturnDocument.AFTER,
            )
        )

    # --- webhook delivery --------------------------------------------------------------------------------------
    async def due_webhook(self, now: datetime) -> Document | None:
        return self._open(
            await self.notifications.find_one(
                {"webhook.state": "pending", "webhook.next_at": {"$lte": now}}, {"outbox": 0}
            )
        )

    async def claim_webhook(self, doc: Document, *, lease_until: datetime) -> Document | None:
        """Take the next attempt: counts it and leases it, so a crash mid-attempt is retried after the lease."""
        hook: dict[str, Any] = doc["webhook"]
        return self._open(
            await self.notifications.find_one_and_update(
                {"_id": doc["_id"], "webhook.state": "pending", "webhook.attempt": hook["attempt"]},
                {"$set": {"webhook.next_at": lease_until}, "$inc": {"webhook.attempt": 1}},
                return_document=ReturnDocument.AFTER,
            )
        )

    async def webhook_delivered(self, notification_id: str, *, at: datetime) -> None:
        await self.notifications.update_one(
            {"_id": notification_id}, {"$set": {"webhook.state": "delivered", "webhook.delivered_at": at}}
        )

    async def webhook_retry_at(self, notification_id: str, *, next_at: datetime) -> None:
        await self.notifications.update_one(
            {"_id": notification_id, "webhook.state": "pending"}, {"$set": {"webhook.next_at": next_at}}
        )

    async def webhook_failed(self, notification_id: str, *, at: datetime, outbox: list[Document]) -> None:
        await self.notifications.update_one(
            {"_id": notification_id, "webhook.state": "pending"},
            {"$set": {"webhook.state": "failed", "webhook.failed_at": at}, "$push": {"outbox": {"$each": outbox}}},
        )

    async def log_delivery(self, entry: Document) -> None:
        await self.deliveries.insert_one(entry)

    async def delivery_log(self, notification_id: str) -> list[Document]:
        cursor = self.deliveries.find({"notification_id": notification_id}, {"_id": 0}).sort("attempt", 1)
        return await cursor.to_list(None)
