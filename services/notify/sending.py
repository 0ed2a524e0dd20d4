"""Publishing notify's events: straight from a consumer, or through an aggregate's outbox for sweeps and requests."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol

import structlog

from services.notify.mail import MailPurpose
from services.notify.model import Outgoing
from services.notify.ports import Publisher, Repository
from shared.contracts.envelope import Record, header_text, to_record
from shared.contracts.events import NotificationState, NotificationStatus, RiskLevel, utcnow
from shared.contracts.notifications import NotificationNotice
from shared.contracts.topics import Recipient, notify_topic
from shared.runtime import metrics
from shared.runtime.errors import TransientError

log = structlog.get_logger("weerbaar.notify.sending")

ACUTE_LEVELS = frozenset({RiskLevel.HIGH, RiskLevel.CRITICAL})
POLICE_TOPIC = notify_topic(Recipient.POLICE)


class Sender:
    """Publishes events as records, and remembers which ones this process has already seen acknowledged.

    A redelivered record, or the main-topic copy of an urgent one, derives the events it caused again; those this
    process has published before (same topic and event id, so the same record) are not sent twice. After a
    restart nothing is remembered and everything derived is sent again, which consumers dedupe by event id.
    """

    def __init__(self, publisher: Publisher, *, source: str, service: str, remember: int = 50_000) -> None:
        self._publisher = publisher
        self._source = source
        self._service = service
        self._published: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._remember = remember

    def records(self, outgoing: Iterable[Outgoing]) -> list[Record]:
        return [to_record(o.event, source=self._source, topic=o.topic) for o in outgoing]

    def published(self, outgoing: Iterable[Outgoing]) -> bool:
        """Whether this process has published all of these already (so they are stored, too)."""
        return all((o.topic, o.event.event_id) in self._published for o in outgoing)

    async def send(self, outgoing: Sequence[Outgoing]) -> None:
        """Publish what this process has not published yet; returns once the broker acknowledged all of it."""
        unknown: dict[tuple[str, str], Outgoing] = {}
        for o in outgoing:
            key = (o.topic, o.event.event_id)
            if key not in self._published:
                unknown.setdefault(key, o)  # the same event twice (a decision twice in a batch) is one record
        await self._publish({key: self.records([o])[0] for key, o in unknown.items()})

    async def send_records(self, records: Sequence[Record]) -> None:
        """The same for records kept in an outbox."""
        keyed: dict[tuple[str, str], Record] = {}
        for record in records:
            keyed.setdefault(_identity(record), record)
        await self._publish(keyed)

    async def _publish(self, keyed: dict[tuple[str, str], Record]) -> None:
        fresh = {key: r for key, r in keyed.items() if key not in self._published}
        if not fresh:
            return
        await self._publisher.send_many(list(fresh.values()))
        for key, record in fresh.items():
            metrics.PUBLISHED.labels(self._service, record.topic).inc()
            _count(record)
            self._published[key] = None
            self._published.move_to_end(key)
        while len(self._published) > self._remember:
            self._published.popitem(last=False)


def count_from_zero() -> None:
    """Create every notification series at 0, so an alert's ``increase()`` sees the first escalation too."""
    for recipient in Recipient:
        for level in RiskLevel:
            metrics.ESCALATIONS_EXHAUSTED.labels(recipient.value, level.value)
            for state in NotificationState:
                metrics.NOTIFICATIONS.labels(recipient.value, level.value, state.value)
    for level in ACUTE_LEVELS:
        metrics.ACUTE_POLICE_SECONDS.labels(level.value)
    for purpose in MailPurpose:
        for outcome in ("delivered", "failed"):
            metrics.MAILS.labels(purpose.value, outcome)


def _count(record: Record) -> None:
    """What operators watch: notification states by recipient and level; the acute lane's report → police time."""
    kind = header_text(record.headers, "ce_type")
    if kind == NotificationStatus.ce_type:
        status = NotificationStatus.model_validate_json(record.value)
        metrics.NOTIFICATIONS.labels(status.recipient.value, status.level.value, status.status.value).inc()
    elif kind == NotificationNotice.ce_type and record.topic == POLICE_TOPIC:  # the others are not parsed
        police = NotificationNotice.model_validate_json(record.value)
        if police.resend_no == 0 and police.reported_at is not None and police.level in ACUTE_LEVELS:
            waited = (utcnow() - police.reported_at).total_seconds()
            metrics.ACUTE_POLICE_SECONDS.labels(police.level.value).observe(max(waited, 0.0))


def _identity(record: Record) -> tuple[str, str]:
    return record.topic, header_text(record.headers, "ce_id") or ""


class HasOutbox(Protocol):
    outbox: list[Record]


class Outboxes:
    """Events of sweeps and HTTP requests: stored in their aggregate's outbox by the write that caused them, then
    published right away, and relayed after a crash or a broker outage. (Consumers need none: see ``model``.)
    """

    def __init__(
        self,
        store: Repository,
        sender: Sender,
        *,
        service: str = "notify",
        inline_timeout_s: float = 1.0,
        full_scan_s: float = 300.0,
    ) -> None:
        self._service = service
        self._store = store
        self._sender = sender
        self._inline_timeout_s = inline_timeout_s
        self._full_scan_s = full_scan_s
        # Scan at start (a crash may have left events behind), after a failed flush, and every ``full_scan_s`` as a
        # safety net: on FerretDB the ``outbox.0`` query reads the whole collection.
        self._dirty = True
        self._last_scan = float("-inf")

    async def flush_case(self, case_id: str) -> int:
        return await self._flush(self._store.case(case_id))

    async def flush_notification(self, notification_id: str) -> int:
        return await self._flush(self._store.notification(notification_id))

    async def _flush(self, unit: AbstractAsyncContextManager[HasOutbox]) -> int:
        try:
            async with unit as aggregate:
                pending = list(aggregate.outbox)
                if pending:
                    await self._sender.send_records(pending)
                    aggregate.outbox = []
                return len(pending)
        except BaseException:
            self._dirty = True  # something stays behind: the relay looks at its next run
            raise

    async def flush_quietly(self, *, case_id: str | None = None, notification_id: str | None = None) -> None:
        """Publish now if the broker answers in time; otherwise leave it to the relay (it is safe in the store)."""
        flush = self.flush_case(case_id) if case_id is not None else self.flush_notification(str(notification_id))
        try:
            await asyncio.wait_for(flush, self._inline_timeout_s)
        except (TransientError, TimeoutError) as exc:
            self._dirty = True
            log.warning("outbox_deferred", error=str(exc) or type(exc).__name__)

    async def relay(self, limit: int = 500) -> int:
        """Publish whatever stayed in an outbox (periodic work); how many events were sent."""
        if not self._dirty and time.monotonic() - self._last_scan < self._full_scan_s:
            return 0
        self._dirty = False
        self._last_scan = time.monotonic()
        cases, notifications = await self._store.with_outbox(limit)
        metrics.OUTBOX_PENDING.labels(self._service).set(len(cases) + len(notifications))
        metrics.OUTBOX_UNSENT.labels(self._service).set(len(cases) + len(notifications))
        sent = 0
        for case_id in cases:
            sent += await self.flush_case(case_id)
        for notification_id in notifications:
            sent += await self.flush_notification(notification_id)
        if sent:
            self._dirty = True  # look once more: a clean scan ends the recovery
            log.info("outbox_relayed", count=sent)
        return sent
