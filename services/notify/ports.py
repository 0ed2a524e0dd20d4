"""What notify's use cases need from the outside world: its store and a publisher (real ones, or fakes in tests)."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol

from services.notify.mail import Mail
from services.notify.model import CaseNotifications, DeliveryAttempt, SentNotification
from shared.contracts.envelope import Record


class Repository(Protocol):
    """Notify's aggregates: each loaded once per unit and saved once when the unit ends (nothing when it raises)."""

    def case(self, case_id: str) -> AbstractAsyncContextManager[CaseNotifications]:
        """The case under its write lock (a new one when none is stored)."""
        ...

    async def add_case(self, case: CaseNotifications) -> bool:
        """Store a case that is most likely new with one write; False (nothing written) if it exists."""
        ...

    async def peek_case(self, case_id: str) -> CaseNotifications | None:
        """The case as it stands, not held and never saved."""
        ...

    def notification(self, notification_id: str) -> AbstractAsyncContextManager[SentNotification]:
        """The notification under its write lock; ``NotificationNotFound`` when there is none."""
        ...

    async def peek_notification(self, notification_id: str) -> SentNotification | None: ...

    async def create(self, notifications: Sequence[SentNotification]) -> set[str]:
        """Store new notifications at once; the ids of those that existed already (left as they are)."""
        ...

    def mail(self, mail_id: str) -> AbstractAsyncContextManager[Mail]:
        """The e-mail under its write lock; ``MailNotFound`` when there is none."""
        ...

    async def peek_mail(self, mail_id: str) -> Mail | None: ...

    async def create_mails(self, mails: Sequence[Mail]) -> set[str]:
        """Store new e-mails at once; the ids of those that existed already (left as they are)."""
        ...

    async def due_mails(self, now: datetime, limit: int) -> list[str]: ...

    async def mail_ids_of(self, case_id: str) -> list[str]: ...

    async def notification_ids_of(self, case_id: str) -> list[str]: ...

    async def due_for_ack(self, now: datetime, limit: int) -> list[str]: ...

    async def due_webhooks(self, now: datetime, limit: int) -> list[str]: ...

    async def due_followups(self, now: datetime, limit: int) -> list[str]: ...

    async def with_outbox(self, limit: int) -> tuple[list[str], list[str]]:
        """(case ids, notification ids) with events not yet published."""
        ...

    async def log_delivery(self, attempt: DeliveryAttempt) -> None: ...


class Publisher(Protocol):
    async def send_many(self, records: Sequence[Record]) -> None:
        """Publish all, wait for the broker's acknowledgement of each; raise if any failed."""
        ...
