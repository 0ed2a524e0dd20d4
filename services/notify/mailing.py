"""E-mail delivery: due e-mails handed to the relay, bounded retries with backoff, then the failure.

Like a webhook: each attempt is claimed (counted, leased) under the e-mail's lock, made outside it, and its outcome
recorded after. A recipient's e-mail that cannot be delivered in the end makes its notification "failed" and tells
the OTWB duty officer and JenV, who can reach the recipient another way; the notification's acknowledgement timer
(critical levels) runs as for any channel. A reporter's e-mail that fails is logged and counted.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

import structlog

from services.notify.errors import MailNotSent
from services.notify.mail import Mail, MailPurpose
from services.notify.model import NotifyPolicy
from services.notify.ports import Repository
from services.notify.sending import Outboxes, Sender
from services.notify.service import Clock, millis
from services.notify.webhooks import backoff_s
from shared.contracts.events import utcnow
from shared.messaging.lanes import taking_turns
from shared.runtime import metrics

log = structlog.get_logger("weerbaar.notify.mailing")


class Relay(Protocol):
    async def send(self, mail: Mail) -> None:
        """Hand one e-mail over; ``MailNotSent`` when it was not accepted."""
        ...


@dataclass(frozen=True, slots=True)
class MailRetries:
    attempts: int
    backoff_s: float
    max_backoff_s: float
    lease_s: float


@dataclass(frozen=True, slots=True)
class _Claimed:
    mail: Mail
    attempt: int


class MailDelivery:
    def __init__(
        self,
        store: Repository,
        sender: Sender,
        outboxes: Outboxes,
        relay: Relay,
        policy: NotifyPolicy,
        retries: MailRetries,
        *,
        clock: Clock = utcnow,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self._store = store
        self._sender = sender
        self._outboxes = outboxes
        self._relay = relay
        self._policy = policy
        self._retries = retries
        self._now = millis(clock)
        self._rand = rand

    async def deliver_due(self, limit: int = 50) -> int:
        """One pass over due e-mails (periodic work); how many attempts were made."""
        attempts = 0
        async for found in taking_turns(await self._store.due_mails(self._now(), limit)):
            claimed = await self._claim(found)
            if claimed is not None:
                attempts += 1
                await self._attempt(claimed)
        return attempts

    async def _claim(self, mail_id: str) -> _Claimed | None:
        now = self._now()
        async with self._store.mail(mail_id) as mail:
            if not mail.due(now):
                return None
            attempt = mail.take_attempt(lease_until=now + timedelta(seconds=self._retries.lease_s))
            return _Claimed(mail=mail, attempt=attempt)

    async def _attempt(self, claimed: _Claimed) -> None:
        mail = claimed.mail
        purpose = mail.purpose.value
        try:
            await self._relay.send(mail)
        except MailNotSent as exc:
            await self._not_sent(claimed, exc)
            return
        async with self._store.mail(mail.mail_id) as stored:
            stored.delivered(self._now())
        metrics.MAILS.labels(purpose, "delivered").inc()
        log.info("mail_delivered", case_id=mail.case_id, purpose=purpose, attempt=claimed.attempt)

    async def _not_sent(self, claimed: _Claimed, error: MailNotSent) -> None:
        mail, now = claimed.mail, self._now()
        purpose = mail.purpose.value
        if error.retryable and claimed.attempt < self._retries.attempts:
            delay = backoff_s(
                claimed.attempt, first_s=self._retries.backoff_s, max_s=self._retries.max_backoff_s, rand=self._rand
            )
            async with self._store.mail(mail.mail_id) as stored:
                stored.retry_at(now + timedelta(seconds=delay), str(error))
            log.warning("mail_retry", case_id=mail.case_id, purpose=purpose, attempt=claimed.attempt, error=str(error))
            return
        reason = f"e-mail not delivered after {claimed.attempt} attempt(s): {error}"
        async with self._store.mail(mail.mail_id) as stored:
            changed = stored.failed(at=now, error=reason)
        if not changed:
            return
        metrics.MAILS.labels(purpose, "failed").inc()
        log.error("mail_failed", case_id=mail.case_id, purpose=purpose, attempts=claimed.attempt, error=str(error))
        if mail.purpose is MailPurpose.NOTIFICATION and mail.notification_id is not None:
            async with self._store.notification(mail.notification_id) as notification:
                events = notification.mail_failed(at=now, reason=reason, mail_id=mail.mail_id, policy=self._policy)
                notification.outbox += self._sender.records(events)
            await self._outboxes.flush_quietly(notification_id=mail.notification_id)
