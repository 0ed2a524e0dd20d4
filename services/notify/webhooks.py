"""Webhook delivery, the second channel: signed POSTs with bounded retries, a breaker per endpoint, then the DLQ.

Signature: ``X-Weerbaar-Signature: sha256=<hex HMAC-SHA256(secret, f"{timestamp}." + body)>`` with the Unix time in
``X-Weerbaar-Timestamp``; receivers reject old timestamps (replay protection) and compare in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
import structlog

from services.notify.model import Delivery, DeliveryAttempt, Outgoing, delivery
from services.notify.ports import Repository
from services.notify.sending import Outboxes, Sender
from services.notify.service import Clock, millis
from services.notify.settings import Settings
from shared.contracts.envelope import Record
from shared.contracts.events import utcnow
from shared.contracts.notifications import delivery_topic
from shared.contracts.topics import Recipient, dlq_topic
from shared.messaging.lanes import AcuteGate, taking_turns
from shared.runtime.periodic import Every

log = structlog.get_logger("weerbaar.notify.webhooks")

SIGNATURE_HEADER = "X-Weerbaar-Signature"
TIMESTAMP_HEADER = "X-Weerbaar-Timestamp"
_RETRYABLE_4XX = frozenset({408, 425, 429})


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify(secret: bytes, *, timestamp: str, body: bytes, signature: str, now: float, tolerance_s: float = 300) -> bool:
    """What a receiver does: a fresh timestamp and a matching signature (constant-time compare)."""
    try:
        fresh = abs(now - float(timestamp)) <= tolerance_s
    except ValueError:
        return False
    return fresh and hmac.compare_digest(sign(secret, timestamp, body), signature)


def backoff_s(attempt: int, *, first_s: float, max_s: float, rand: Callable[[], float] = random.random) -> float:
    """Exponential, capped, with jitter in [50 %, 100 %] so failing receivers are not hit in lockstep."""
    return float(min(first_s * 2 ** (attempt - 1), max_s) * (0.5 + rand() / 2))


@dataclass
class _Circuit:
    failures: int = 0
    open_until: float = 0.0


@dataclass
class CircuitBreakers:
    """Per endpoint: opens after N consecutive failures, lets one probe through after the reset time."""

    threshold: int
    reset_s: float
    clock: Callable[[], float] = time.monotonic
    _circuits: dict[str, _Circuit] = field(default_factory=dict)

    def blocked_for(self, url: str) -> float:
        """Seconds until the endpoint may be tried again; 0 when it may be tried now."""
        circuit = self._circuits.get(url)
        if circuit is None or circuit.failures < self.threshold:
            return 0.0
        return max(0.0, circuit.open_until - self.clock())

    def succeeded(self, url: str) -> None:
        self._circuits.pop(url, None)

    def failed(self, url: str) -> None:
        circuit = self._circuits.setdefault(url, _Circuit())
        circuit.failures += 1
        if circuit.failures >= self.threshold:
            circuit.open_until = self.clock() + self.reset_s


@dataclass(frozen=True)
class _Outcome:
    ok: bool
    retryable: bool
    status_code: int | None
    error: str


@dataclass(frozen=True)
class _Attempt:
    """One claimed attempt: what to POST where, taken from the notification under its lock."""

    notification_id: str
    case_id: str
    recipient: Recipient
    url: str
    attempt: int
    record: Record
    """The whole notification: the webhook's body (point to point, signed)."""
    wire: Record
    """What its topic carries (a notice when it holds personal data): what its dead letter carries."""


class WebhookDelivery:
    def __init__(
        self,
        store: Repository,
        sender: Sender,
        outboxes: Outboxes,
        settings: Settings,
        *,
        service: str = "notify",
        clock: Clock = utcnow,
        rand: Callable[[], float] = random.random,
        gate: AcuteGate | None = None,
    ) -> None:
        self._gate = gate
        self._store = store
        self._sender = sender
        self._outboxes = outboxes
        self._settings = settings
        self._service = service
        self._now = millis(clock)
        self._rand = rand
        self.breakers = CircuitBreakers(settings.breaker_failures, settings.breaker_reset_s)

    async def deliver_forever(self) -> None:
        """Background task: deliver due webhooks until cancelled."""
        # The due query scans every notification: routine work, a bounded share of the store's time.
        interval = min(self._settings.sweep_interval_s, self._settings.webhook_backoff_s)
        async with httpx.AsyncClient(timeout=self._settings.webhook_timeout_s) as client:
            await Every("webhook_delivery", interval, lambda: self.deliver_due(client), gate=self._gate).run_forever()

    async def deliver_due(self, client: httpx.AsyncClient, limit: int = 50) -> int:
        """One pass over due deliveries; returns how many attempts were made."""
        attempts = 0
        async for notification_id in taking_turns(await self._store.due_webhooks(self._now(), limit)):
            claimed = await self._claim(notification_id)
            if claimed is not None:
                attempts += 1
                await self._attempt(client, claimed)
        return attempts

    async def _claim(self, notification_id: str) -> _Attempt | None:
        """Take the next attempt (counted and leased), or push it back while the endpoint's circuit is open."""
        now = self._now()
        async with self._store.notification(notification_id) as notification:
            hook = notification.webhook
            if hook is None or not notification.webhook_due(now):
                return None
            wait = self.breakers.blocked_for(hook.url)
            if wait > 0:
                notification.webhook_retry_at(now + timedelta(seconds=wait))
                return None
            lease = now + timedelta(seconds=self._settings.webhook_timeout_s + 5)
            sent = notification.sent()
            record, wire = self._sender.records([Outgoing(sent, delivery_topic(sent)), delivery(sent)])
            return _Attempt(
                notification_id=notification_id,
                case_id=notification.case_id,
                recipient=notification.recipient,
                url=hook.url,
                attempt=notification.take_webhook_attempt(lease_until=lease),
                record=record,
                wire=wire,
            )

    async def _attempt(self, client: httpx.AsyncClient, claimed: _Attempt) -> None:
        started = time.perf_counter()
        outcome = await self._post(client, claimed)
        now = self._now()
        delivery = Delivery(
            notification_id=claimed.notification_id,
            case_id=claimed.case_id,
            recipient=claimed.recipient,
            attempt=claimed.attempt,
            at=now,
            ok=outcome.ok,
            status_code=outcome.status_code,
            error=outcome.error,
            duration_ms=round((time.perf_counter() - started) * 1000, 1),
        )
        await self._store.log_delivery(DeliveryAttempt(delivery=delivery, url=claimed.url))
        recipient = claimed.recipient.value
        if outcome.ok:
            self.breakers.succeeded(claimed.url)
            async with self._store.notification(claimed.notification_id) as notification:
                notification.webhook_delivered(now)
            log.info("webhook_delivered", recipient=recipient, attempt=claimed.attempt)
            return
        self.breakers.failed(claimed.url)
        if outcome.retryable and claimed.attempt < self._settings.webhook_attempts:
            delay = backoff_s(
                claimed.attempt,
                first_s=self._settings.webhook_backoff_s,
                max_s=self._settings.webhook_max_backoff_s,
                rand=self._rand,
            )
            async with self._store.notification(claimed.notification_id) as notification:
                notification.webhook_retry_at(now + timedelta(seconds=delay))
            log.warning("webhook_retry", recipient=recipient, attempt=claimed.attempt, error=outcome.error)
            return
        await self._dead_letter(claimed, outcome, now=now)

    async def _post(self, client: httpx.AsyncClient, claimed: _Attempt) -> _Outcome:
        record = claimed.record
        timestamp = str(int(self._now().timestamp()))
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(self._settings.webhook_key, timestamp, record.value),
            "X-Weerbaar-Notification-Id": claimed.notification_id,
            "X-Weerbaar-Attempt": str(claimed.attempt),
            **{
                name.replace("_", "-"): value.decode()
                for name, value in record.headers.items()
                if name != "content-type"
            },
        }
        try:
            response = await client.post(
                claimed.url, content=record.value, headers=headers, timeout=self._settings.webhook_timeout_s
            )
        except httpx.TimeoutException:
            return _Outcome(ok=False, retryable=True, status_code=None, error="timeout")
        except httpx.HTTPError as exc:
            return _Outcome(ok=False, retryable=True, status_code=None, error=type(exc).__name__)
        code = response.status_code
        if 200 <= code < 300:
            return _Outcome(ok=True, retryable=False, status_code=code, error="")
        retryable = code >= 500 or code in _RETRYABLE_4XX
        return _Outcome(ok=False, retryable=retryable, status_code=code, error=f"HTTP {code}")

    async def _dead_letter(self, claimed: _Attempt, outcome: _Outcome, *, now: datetime) -> None:
        """Give up: the record as its topic carries it to the topic's DLQ with the reason, and a "failed" status."""
        record = claimed.wire
        reason = f"webhook delivery to {claimed.url} failed after {claimed.attempt} attempt(s): {outcome.error}"
        dlq_headers = {
            "dlq_reason": reason[:2000],
            "dlq_error_kind": "webhook_retryable_exhausted" if outcome.retryable else "webhook_rejected",
            "dlq_attempts": str(claimed.attempt),
            "dlq_source_topic": record.topic,
            "dlq_service": self._service,
            "dlq_failed_at": now.isoformat(),
        }
        dead = Record(
            topic=dlq_topic(record.topic),
            key=record.key,
            value=record.value,
            headers={**record.headers, **{name: value.encode() for name, value in dlq_headers.items()}},
        )
        async with self._store.notification(claimed.notification_id) as notification:
            failed = notification.webhook_failed(at=now, reason=reason)
            if failed:
                notification.outbox += [dead, *self._sender.records(failed)]
        log.error(
            "webhook_dead_lettered", recipient=claimed.recipient.value, attempts=claimed.attempt, error=outcome.error
        )
        await self._outboxes.flush_quietly(notification_id=claimed.notification_id)
