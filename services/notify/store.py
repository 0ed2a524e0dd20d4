"""Notify's collections: one document per case (``notify_cases``), one per notification (``notify_notifications``).

Both are aggregates of ``shared.aggregates.AggregateStore``: loaded once (or taken from what this process last wrote),
changed in memory, saved with one write. The codecs below are the only code that knows the documents' shape, and
the only place that seals personal data (the report, each payload, the outbox records). Notifications are created
in bulk (``insert_many``; ``SerialCollection`` keeps each command small enough for FerretDB); their ids are
deterministic, so creating one that exists is a no-op. Timers (``due_at``, ``webhook.next_at``, ``followup_due_at``)
are fields, so they survive a restart and sweeps find them with a query.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from services.notify.errors import MailNotFound, NotificationNotFound
from services.notify.mail import Mail, MailPurpose, MailState
from services.notify.model import (
    CaseNotifications,
    Delivery,
    DeliveryAttempt,
    FollowupClock,
    SentNotification,
    Webhook,
    WebhookState,
)
from shared.contracts.envelope import Record
from shared.contracts.events import FollowupKind, NotificationState, RiskLevel
from shared.contracts.incident import IncidentReport
from shared.contracts.notifications import RECIPIENT_MODELS
from shared.contracts.topics import Recipient
from shared.runtime.errors import TransientError
from shared.security.crypto import DataCipher
from shared.security.reseal import SealedField
from shared.store.aggregates import AggregateStore, StaleAggregate
from shared.store.mongo import Document
from shared.store.serial import SerialCollection

ERASED = "erased"
CASES = "notify_cases"
CASES_KNOWN = 20_000
NOTIFICATIONS = "notify_notifications"
MAILS = "notify_mails"
SEALED_FIELDS = (
    SealedField(CASES, "report", "notify/case/{id}"),
    SealedField(CASES, "contacts", "notify/contacts/{id}"),
    SealedField(MAILS, "sealed", "notify/mail/{id}"),
    SealedField(CASES, "outbox[]", "notify/outbox/{id}"),
    SealedField(NOTIFICATIONS, "sealed", "notify/notification/{id}"),
    SealedField(NOTIFICATIONS, "outbox[]", "notify/outbox/{id}"),
)
"""Where notify keeps sealed values (``weerbaar keys reseal``), with the contexts its documents seal them under."""


class Sealer:
    """Seals personal data for notify's documents (AES-GCM, ``shared.security.crypto``) and opens it again.

    Sealing a value that was opened recently under the same context gives back the ciphertext it was opened from: a
    fresh nonce on every save would make an unchanged aggregate look changed and cost a write. Every save of an
    aggregate that exists follows its load (which opened it), so only what was opened is remembered, by digest; the
    ciphertexts are mostly the very strings the aggregate cache holds anyway.
    """

    def __init__(self, cipher: DataCipher, *, remember: int = 40_000) -> None:
        self._cipher = cipher
        self._opened: OrderedDict[tuple[str, bytes], str] = OrderedDict()
        self._remember = remember

    def seal(self, value: Any, *, context: str) -> str:
        plain = _canonical(value)
        opened = self._opened.get((context, hashlib.sha256(plain).digest()))
        return opened if opened is not None else self._cipher.seal(plain, context=context)

    def open(self, sealed: str, *, context: str) -> Any:
        value = json.loads(self._cipher.open(sealed, context=context))
        key = (context, hashlib.sha256(_canonical(value)).digest())
        self._opened[key] = sealed
        self._opened.move_to_end(key)
        while len(self._opened) > self._remember:
            self._opened.popitem(last=False)
        return value


def _canonical(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, default=str).encode()


def _seal_records(sealer: Sealer, records: Sequence[Record], *, context: str) -> list[str]:
    return [sealer.seal(r.stored(), context=context) for r in records]


def _open_records(sealer: Sealer, sealed: Any, *, context: str) -> list[Record]:
    return [Record.from_stored(sealer.open(str(entry), context=context)) for entry in sealed or ()]


class CaseCodec:
    """``CaseNotifications`` ↔ its ``notify_cases`` document."""

    def __init__(self, sealer: Sealer) -> None:
        self._sealer = sealer

    def to_document(self, case: CaseNotifications) -> Document:
        doc: Document = {
            "erased": case.erased,
            "followup_received": case.followup_received,
            "outbox": _seal_records(self._sealer, case.outbox, context=f"notify/outbox/{case.case_id}"),
        }
        if case.report is not None:
            doc["report"] = self._sealer.seal(
                case.report.model_dump(mode="json"), context=f"notify/case/{case.case_id}"
            )
        if case.report_id is not None:
            doc["report_id"] = case.report_id
        if case.contacts:
            doc["contacts"] = self._sealer.seal(dict(case.contacts), context=f"notify/contacts/{case.case_id}")
        if case.last_followup_kind is not None:
            doc["last_followup_kind"] = case.last_followup_kind.value
        clock = case.followup
        if clock is not None:  # top-level fields: the overdue sweep and the overdue list query them
            doc.update(
                followup_due_at=clock.due_at,
                police_notification_id=clock.police_notification_id,
                level=clock.level.value,
                followup_overdue=clock.overdue_at is not None,
                followup_overdue_at=clock.overdue_at,
            )
        return doc

    def from_document(self, doc: Document) -> CaseNotifications:
        case_id = str(doc["_id"])
        sealed = doc.get("report")
        report = None
        if isinstance(sealed, str) and sealed != ERASED:
            report = IncidentReport.model_validate(self._sealer.open(sealed, context=f"notify/case/{case_id}"))
        clock = None
        if doc.get("followup_due_at") is not None and doc.get("police_notification_id"):
            clock = FollowupClock(
                due_at=doc["followup_due_at"],
                police_notification_id=str(doc["police_notification_id"]),
                level=RiskLevel(doc["level"]),
                overdue_at=doc.get("followup_overdue_at"),
            )
        kind = doc.get("last_followup_kind")
        contacts = doc.get("contacts")
        return CaseNotifications(
            case_id=case_id,
            report=report,
            report_id=doc.get("report_id"),
            erased=bool(doc.get("erased")),
            followup=clock,
            followup_received=bool(doc.get("followup_received")),
            last_followup_kind=FollowupKind(kind) if kind else None,
            contacts=dict(self._sealer.open(contacts, context=f"notify/contacts/{case_id}")) if contacts else {},
            outbox=_open_records(self._sealer, doc.get("outbox"), context=f"notify/outbox/{case_id}"),
        )


class NotificationCodec:
    """``SentNotification`` ↔ its ``notify_notifications`` document."""

    def __init__(self, sealer: Sealer) -> None:
        self._sealer = sealer

    def to_document(self, n: SentNotification) -> Document:
        doc: Document = {
            "case_id": n.case_id,
            "recipient": n.recipient.value,
            "level": n.level.value,
            "assessment_no": n.assessment_no,
            "created_at": n.created_at,
            "state": n.state.value,
            "acknowledged": n.acknowledged,
            "acknowledged_by": n.acknowledged_by,
            "acknowledged_at": n.acknowledged_at,
            "resend_no": n.resend_no,
            "due_at": n.due_at,
            "erased": n.erased,
            "sealed": ERASED
            if n.payload is None
            else self._sealer.seal(
                {"payload": n.payload.model_dump(mode="json")}, context=f"notify/notification/{n.notification_id}"
            ),
            "outbox": _seal_records(self._sealer, n.outbox, context=f"notify/outbox/{n.notification_id}"),
        }
        if n.webhook is not None:
            hook = n.webhook
            doc["webhook"] = {
                "url": hook.url,
                "state": hook.state.value,
                "attempt": hook.attempt,
                "next_at": hook.next_at,
                "delivered_at": hook.delivered_at,
                "failed_at": hook.failed_at,
            }
        return doc

    def from_document(self, doc: Document) -> SentNotification:
        nid = str(doc["_id"])
        recipient = Recipient(doc["recipient"])
        sealed = doc.get("sealed")
        payload = None
        if isinstance(sealed, str) and sealed != ERASED:
            opened = self._sealer.open(sealed, context=f"notify/notification/{nid}")
            payload = RECIPIENT_MODELS[recipient].model_validate(opened["payload"])
        hook = doc.get("webhook")
        return SentNotification(
            notification_id=nid,
            case_id=str(doc["case_id"]),
            recipient=recipient,
            level=RiskLevel(doc["level"]),
            assessment_no=int(doc.get("assessment_no", 0)),
            created_at=doc["created_at"],
            payload=payload,
            state=NotificationState(doc.get("state", NotificationState.SENT.value)),
            acknowledged_by=doc.get("acknowledged_by"),
            acknowledged_at=doc.get("acknowledged_at"),
            resend_no=int(doc.get("resend_no", 0)),
            due_at=doc.get("due_at"),
            webhook=None
            if not hook
            else Webhook(
                url=str(hook["url"]),
                state=WebhookState(hook["state"]),
                attempt=int(hook.get("attempt", 0)),
                next_at=hook.get("next_at"),
                delivered_at=hook.get("delivered_at"),
                failed_at=hook.get("failed_at"),
            ),
            outbox=_open_records(self._sealer, doc.get("outbox"), context=f"notify/outbox/{nid}"),
        )


class MailCodec:
    """``Mail`` ↔ its ``notify_mails`` document; the address is sealed, the subject and body hold no personal data."""

    def __init__(self, sealer: Sealer) -> None:
        self._sealer = sealer

    def to_document(self, m: Mail) -> Document:
        return {
            "case_id": m.case_id,
            "purpose": m.purpose.value,
            "notification_id": m.notification_id,
            "recipient": None if m.recipient is None else m.recipient.value,
            "sealed": ERASED if m.to is None else self._sealer.seal({"to": m.to}, context=f"notify/mail/{m.mail_id}"),
            "subject": m.subject,
            "body": m.body,
            "created_at": m.created_at,
            "state": m.state.value,
            "attempt": m.attempt,
            "next_at": m.next_at,
            "delivered_at": m.delivered_at,
            "failed_at": m.failed_at,
            "error": m.error,
        }

    def from_document(self, doc: Document) -> Mail:
        mail_id = str(doc["_id"])
        sealed = doc.get("sealed")
        to = None
        if isinstance(sealed, str) and sealed != ERASED:
            to = str(self._sealer.open(sealed, context=f"notify/mail/{mail_id}")["to"])
        recipient = doc.get("recipient")
        return Mail(
            mail_id=mail_id,
            case_id=str(doc["case_id"]),
            purpose=MailPurpose(doc["purpose"]),
            to=to,
            subject=str(doc["subject"]),
            body=str(doc["body"]),
            created_at=doc["created_at"],
            notification_id=doc.get("notification_id"),
            recipient=None if recipient is None else Recipient(recipient),
            state=MailState(doc["state"]),
            attempt=int(doc.get("attempt", 0)),
            next_at=doc.get("next_at"),
            delivered_at=doc.get("delivered_at"),
            failed_at=doc.get("failed_at"),
            error=str(doc.get("error", "")),
        )


@dataclass(frozen=True, slots=True)
class OverdueFollowup:
    """A case whose aangifte saw no follow-up in time (no personal data)."""

    case_id: str
    level: str | None
    police_notification_id: str | None
    followup_due_at: datetime | None
    flagged_at: datetime | None


class NotifyStore:
    """Notify's aggregates and the few queries its sweeps and views need."""

    def __init__(self, db: AsyncDatabase[Document], cipher: DataCipher) -> None:
        sealer = Sealer(cipher)
        self._notification_codec = NotificationCodec(sealer)
        self.cases = AggregateStore(SerialCollection(db, CASES), CaseCodec(sealer))
        self.notifications = AggregateStore(SerialCollection(db, NOTIFICATIONS), self._notification_codec)
        self._mail_codec = MailCodec(sealer)
        self.mails = AggregateStore(SerialCollection(db, MAILS), self._mail_codec)
        self.deliveries: AsyncCollection[Document] = SerialCollection(db, "notify_deliveries")
        self._existing: OrderedDict[str, None] = OrderedDict()
        """Cases this process knows to be stored (bounded): no insert is tried for them."""

    async def ensure_indexes(self) -> None:
        try:
            await self.notifications.collection.create_index([("case_id", 1), ("recipient", 1)])
            await self.notifications.collection.create_index([("due_at", 1)])
            await self.notifications.collection.create_index([("webhook.next_at", 1)])
            await self.cases.collection.create_index([("followup_due_at", 1)])
            await self.deliveries.create_index([("notification_id", 1), ("attempt", 1)])
            await self.mails.collection.create_index([("next_at", 1)])
            await self.mails.collection.create_index([("case_id", 1)])
            await self.mails.collection.create_index([("notification_id", 1)])
        except PyMongoError as exc:
            raise TransientError(f"store unavailable: {type(exc).__name__}") from exc

    def forget(self) -> None:
        """Drop what this process knows of every aggregate (another process may own those cases now)."""
        self.cases.forget()
        self.notifications.forget()
        self.mails.forget()
        self._existing.clear()

    # --- aggregates ----------------------------------------------------------------------------------------------
    @asynccontextmanager
    async def case(self, case_id: str) -> AsyncIterator[CaseNotifications]:
        async with self.cases.unit(case_id, new=lambda: CaseNotifications(case_id=case_id)) as case:
            yield case
        self._exists(case_id)  # a unit writes a case it did not find

    async def peek_case(self, case_id: str) -> CaseNotifications | None:
        found = await self.cases.peek(case_id)
        if found is not None:
            self._exists(case_id)
        return found

    async def add_case(self, case: CaseNotifications) -> bool:
        """Store a case that is most likely new with one insert and no read; False (nothing written) if it exists.

        A case this process has seen is not tried: its unit costs no read (the aggregate cache), while a failed
        insert would cost one, and drop it from the cache.
        """
        if case.case_id in self._existing:
            return False
        try:
            await self.cases.add(case.case_id, case)
        except StaleAggregate:
            return False
        finally:
            self._exists(case.case_id)
        return True

    def _exists(self, case_id: str) -> None:
        self._existing[case_id] = None
        self._existing.move_to_end(case_id)
        while len(self._existing) > CASES_KNOWN:
            self._existing.popitem(last=False)

    def notification(self, notification_id: str) -> AbstractAsyncContextManager[SentNotification]:
        def unknown() -> SentNotification:
            raise NotificationNotFound(f"no notification {notification_id}")

        return self.notifications.unit(notification_id, new=unknown)

    async def peek_notification(self, notification_id: str) -> SentNotification | None:
        return await self.notifications.peek(notification_id)

    async def create(self, notifications: Sequence[SentNotification]) -> set[str]:
        """Store new notifications in bulk; the ids of those that existed already (a redelivery), left as they are.

        They join whatever other cases insert at the same moment (one ``insert_many``, ``AggregateStore.add_many``),
        and take no collection lock, so the police on the acute lane waits for no other writer.
        """
        return await self.notifications.add_many([(n.notification_id, n) for n in notifications])

    def mail(self, mail_id: str) -> AbstractAsyncContextManager[Mail]:
        def unknown() -> Mail:
            raise MailNotFound(f"no e-mail {mail_id}")

        return self.mails.unit(mail_id, new=unknown)

    async def peek_mail(self, mail_id: str) -> Mail | None:
        return await self.mails.peek(mail_id)

    async def create_mails(self, mails: Sequence[Mail]) -> set[str]:
        """Store new e-mails at once; the ids of those that existed already (a redelivery), left as they are."""
        return await self.mails.add_many([(m.mail_id, m) for m in mails]) if mails else set()

    # --- queries -------------------------------------------------------------------------------------------------
    async def notification_ids_of(self, case_id: str) -> list[str]:
        return await _ids(self.notifications.collection, {"case_id": case_id})

    async def due_for_ack(self, now: datetime, limit: int) -> list[str]:
        return await _ids(
            self.notifications.collection, {"due_at": {"$lte": now}, "acknowledged": {"$ne": True}}, limit
        )

    async def due_webhooks(self, now: datetime, limit: int) -> list[str]:
        return await _ids(
            self.notifications.collection,
            {"webhook.state": WebhookState.PENDING.value, "webhook.next_at": {"$lte": now}},
            limit,
        )

    async def due_mails(self, now: datetime, limit: int) -> list[str]:
        return await _ids(self.mails.collection, {"state": MailState.PENDING.value, "next_at": {"$lte": now}}, limit)

    async def mail_ids_of(self, case_id: str) -> list[str]:
        return await _ids(self.mails.collection, {"case_id": case_id})

    async def mails_of(self, notification_id: str) -> list[Mail]:
        """The e-mails of a notification (its first sending and reminders), oldest first."""
        cursor = self.mails.collection.find({"notification_id": notification_id}).sort("created_at", 1)
        return [self._mail_codec.from_document(doc) async for doc in cursor]

    async def due_followups(self, now: datetime, limit: int) -> list[str]:
        return await _ids(
            self.cases.collection,
            {"followup_due_at": {"$lte": now}, "followup_received": {"$ne": True}, "followup_overdue": {"$ne": True}},
            limit,
        )

    async def with_outbox(self, limit: int) -> tuple[list[str], list[str]]:
        """(case ids, notification ids) whose documents hold events not yet published."""
        pending = {"outbox.0": {"$exists": True}}
        return (
            await _ids(self.cases.collection, pending, limit),
            await _ids(self.notifications.collection, pending, limit),
        )

    async def overdue_followups(self, limit: int = 500) -> list[OverdueFollowup]:
        cursor = self.cases.collection.find(
            {"followup_overdue": True, "followup_received": {"$ne": True}},
            {"_id": 1, "level": 1, "police_notification_id": 1, "followup_due_at": 1, "followup_overdue_at": 1},
        ).limit(limit)
        return [
            OverdueFollowup(
                case_id=str(doc["_id"]),
                level=doc.get("level"),
                police_notification_id=doc.get("police_notification_id"),
                followup_due_at=doc.get("followup_due_at"),
                flagged_at=doc.get("followup_overdue_at"),
            )
            async for doc in cursor
        ]

    # --- webhook delivery log ------------------------------------------------------------------------------------
    async def log_delivery(self, attempt: DeliveryAttempt) -> None:
        delivery = asdict(attempt.delivery)
        await self.deliveries.insert_one(
            {**delivery, "recipient": attempt.delivery.recipient.value, "url": attempt.url}
        )

    async def delivery_log(self, notification_id: str) -> list[Delivery]:
        cursor = self.deliveries.find({"notification_id": notification_id}, {"_id": 0, "url": 0}).sort("attempt", 1)
        return [Delivery(**{**doc, "recipient": Recipient(doc["recipient"])}) async for doc in cursor]


async def _ids(collection: AsyncCollection[Document], query: Document, limit: int = 0) -> list[str]:
    """The ids of the documents that match (at most ``limit``; 0: all)."""
    return [str(doc["_id"]) async for doc in collection.find(query, {"_id": 1}).limit(limit)]
