"""In-memory stand-ins for notify's store and publisher, for fast tests of the use cases (no broker, no store).

The fake store keeps documents through the real codecs (so what a use case saves must survive the round trip) and
counts the writes a real store would get, so tests can say "one save per case per batch".
"""

from __future__ import annotations

import asyncio
import copy
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from services.notify.errors import MailNotFound, NotificationNotFound
from services.notify.mail import Mail
from services.notify.model import CaseNotifications, DeliveryAttempt, SentNotification
from services.notify.store import CaseCodec, MailCodec, NotificationCodec, Sealer
from shared.contracts.envelope import Record
from shared.runtime.errors import Unavailable
from shared.runtime.settings import CommonSettings
from shared.security.crypto import DataCipher
from shared.store.mongo import Document


class FakeStore:
    """Notify's ``Repository`` in memory: a unit loads a copy and writes it back once if it changed."""

    def __init__(self) -> None:
        sealer = Sealer(DataCipher.from_settings(CommonSettings()))
        self._case_codec = CaseCodec(sealer)
        self._notification_codec = NotificationCodec(sealer)
        self._mail_codec = MailCodec(sealer)
        self.cases: dict[str, Document] = {}
        self.notifications: dict[str, Document] = {}
        self.mails: dict[str, Document] = {}
        self.writes: Counter[str] = Counter()
        self.deliveries: list[DeliveryAttempt] = []
        self._locks: dict[str, asyncio.Lock] = {}

    @asynccontextmanager
    async def _unit(
        self, kind: str, documents: dict[str, Document], key: str, codec: Any, new: Callable[[], Any]
    ) -> AsyncIterator[Any]:
        async with self._locks.setdefault(f"{kind}/{key}", asyncio.Lock()):
            stored = documents.get(key)
            aggregate = new() if stored is None else codec.from_document({**copy.deepcopy(stored), "_id": key})
            yield aggregate
            document = codec.to_document(aggregate)
            if document != stored:
                documents[key] = document
                self.writes[f"{kind}.save"] += 1

    def case(self, case_id: str) -> Any:
        return self._unit("cases", self.cases, case_id, self._case_codec, lambda: CaseNotifications(case_id=case_id))

    async def add_case(self, case: CaseNotifications) -> bool:
        if case.case_id in self.cases:
            return False
        self.cases[case.case_id] = self._case_codec.to_document(case)
        self.writes["cases.add"] += 1
        return True

    async def peek_case(self, case_id: str) -> CaseNotifications | None:
        stored = self.cases.get(case_id)
        return None if stored is None else self._case_codec.from_document({**copy.deepcopy(stored), "_id": case_id})

    def notification(self, notification_id: str) -> Any:
        def unknown() -> SentNotification:
            raise NotificationNotFound(f"no notification {notification_id}")

        return self._unit("notifications", self.notifications, notification_id, self._notification_codec, unknown)

    async def peek_notification(self, notification_id: str) -> SentNotification | None:
        stored = self.notifications.get(notification_id)
        if stored is None:
            return None
        return self._notification_codec.from_document({**copy.deepcopy(stored), "_id": notification_id})

    async def create(self, notifications: Sequence[SentNotification]) -> set[str]:
        if not notifications:
            return set()
        self.writes["notifications.insert_many" if len(notifications) > 1 else "notifications.insert_one"] += 1
        existed = {n.notification_id for n in notifications if n.notification_id in self.notifications}
        for n in notifications:
            self.notifications.setdefault(n.notification_id, self._notification_codec.to_document(n))
        return existed

    def mail(self, mail_id: str) -> Any:
        def unknown() -> Mail:
            raise MailNotFound(f"no e-mail {mail_id}")

        return self._unit("mails", self.mails, mail_id, self._mail_codec, unknown)

    async def peek_mail(self, mail_id: str) -> Mail | None:
        stored = self.mails.get(mail_id)
        return None if stored is None else self._mail_codec.from_document({**copy.deepcopy(stored), "_id": mail_id})

    async def create_mails(self, mails: Sequence[Mail]) -> set[str]:
        existed = {m.mail_id for m in mails if m.mail_id in self.mails}
        for m in mails:
            self.mails.setdefault(m.mail_id, self._mail_codec.to_document(m))
        return existed

    async def due_mails(self, now: datetime, limit: int) -> list[str]:
        due = [k for k, doc in self.mails.items() if doc["state"] == "pending" and doc["next_at"] <= now]
        return due[:limit]

    async def mail_ids_of(self, case_id: str) -> list[str]:
        return [k for k, doc in self.mails.items() if doc["case_id"] == case_id]

    def sent(self, case_id: str) -> list[SentNotification]:
        """Every stored notification of a case (a test's view)."""
        return [
            self._notification_codec.from_document({**copy.deepcopy(doc), "_id": nid})
            for nid, doc in self.notifications.items()
            if doc["case_id"] == case_id
        ]

    async def notification_ids_of(self, case_id: str) -> list[str]:
        return [nid for nid, doc in self.notifications.items() if doc["case_id"] == case_id]

    async def due_for_ack(self, now: datetime, limit: int) -> list[str]:
        due = [
            nid
            for nid, doc in self.notifications.items()
            if doc["due_at"] is not None and doc["due_at"] <= now and not doc["acknowledged"]
        ]
        return due[:limit]

    async def due_webhooks(self, now: datetime, limit: int) -> list[str]:
        due = [
            nid
            for nid, doc in self.notifications.items()
            if (hook := doc.get("webhook")) and hook["state"] == "pending" and hook["next_at"] <= now
        ]
        return due[:limit]

    async def due_followups(self, now: datetime, limit: int) -> list[str]:
        due = [
            case_id
            for case_id, doc in self.cases.items()
            if doc.get("followup_due_at") is not None
            and doc["followup_due_at"] <= now
            and not doc["followup_received"]
            and not doc["followup_overdue"]
        ]
        return due[:limit]

    async def with_outbox(self, limit: int) -> tuple[list[str], list[str]]:
        return (
            [k for k, doc in self.cases.items() if doc["outbox"]][:limit],
            [k for k, doc in self.notifications.items() if doc["outbox"]][:limit],
        )

    async def log_delivery(self, attempt: DeliveryAttempt) -> None:
        self.deliveries.append(attempt)


@dataclass
class RecordingPublisher:
    """Keeps what it was asked to publish; ``failing`` makes the next sends fail as a broker outage would."""

    records: list[Record] = field(default_factory=list)
    failing: bool = False

    async def send_many(self, records: Sequence[Record]) -> None:
        if self.failing:
            raise Unavailable("broker down (fake)")
        self.records.extend(records)

    def topics(self) -> list[str]:
        return [r.topic for r in self.records]

    def ids(self) -> list[str]:
        return [r.headers["ce_id"].decode() for r in self.records]


@dataclass
class FakeClock:
    now: datetime = field(default_factory=lambda: datetime(2026, 11, 21, 9, 0, 0, 123456, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
