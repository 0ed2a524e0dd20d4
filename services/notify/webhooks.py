"""Webhook delivery, the second channel: signed POSTs with bounded retries, a breaker per endpoint, then the DLQ.

Signature: ``X-Weerbaar-Signature: sha256=<hex HMAC-SHA256(secret, f"{timestamp}." + body)>`` with the Unix time in
``X-Weerbaar-Timestamp``; receivers reject old timestamps (replay protection) and compare in constant time.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
import structlog

from services.notify import domain
from services.notify.service import Clock, stored_notification
from services.notify.settings import Settings
from services.notify.store import NotifyStore
from shared.cadence import Cadence
from shared.contracts.events import NotificationState, utcnow
from shared.contracts.topics import dlq_topic
from shared.lanes import AcuteGate
from shared.mongo import Document
from shared.outbox import Outbox, outbox_entry

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


class WebhookDelivery:
    def __init__(
        self,
        store: NotifyStore,
        outbox: Outbox,
        settings: Settings,
        *,
        service: str = "notify",
        clock: Clock = utcnow,
        rand: Callable[[], float] = random.random,
        gate: AcuteGate | None = None,
    ) -> None:
        self._gate = gate
        self._store = store
        self._outbox = outbox
        self._settings = settings
        self._service = service
        self._clock = clock
        self._rand = rand
        self.breakers = CircuitBreakers(settings.breaker_failures, settings.breaker_reset_s)

    async def deliver_forever(self) -> None:
        """Background task: deliver due webhooks until cancelled."""
        # The due query scans every notification: a bounded share of the store, and not while acute work runs.
        cadence = Cadence(min(self._settings.sweep_interval_s, self._settings.webhook_backoff_s), gate=self._gate)
        async with httpx.AsyncClient(timeout=self._settings.webhook_timeout_s) as client:
            while True:
                try:
                    await cadence.timed(lambda: self.deliver_due(client))
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - keep delivering whatever failed this round
                    log.warning("webhook_sweep_failed", error=type(exc).__name__)
                await cadence.pause()

    async def deliver_due(self, client: httpx.AsyncClient, limit: int = 50) -> int:
        """One pass over due deliveries; returns how many attempts were made."""
        attempts = 0
        for _ in range(limit):
            now = self._clock()
            doc = await self._store.due_webhook(now)
            if doc is None:
                break
            url = doc["webhook"]["url"]
            wait = self.breakers.blocked_for(url)
            if wait > 0:
                await self._store.webhook_retry_at(doc["_id"], next_at=now + timedelta(seconds=wait))
                continue
            lease = now + timedelta(seconds=self._settings.webhook_timeout_s + 5)
            claimed = await self._store.claim_webhook(doc, lease_until=lease)
            if claimed is not None:
                attempts += 1
                await self._attempt(client, claimed)
        return attempts

    async def _attempt(self, client: httpx.AsyncClient, doc: Document) -> None:
        hook = doc["webhook"]
        url, attempt = hook["url"], int(hook["attempt"])
        started = time.perf_counter()
        outcome = await self._post(client, url, doc)
        now = self._clock()
        await self._store.log_delivery(
            {
                "notification_id": doc["_id"],
                "case_id": doc["case_id"],
                "recipient": doc["recipient"],
                "url": url,
                "attempt": attempt,
                "at": now,
                "ok": outcome.ok,
                "status_code": outcome.status_code,
                "error": outcome.error,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            }
        )
        if outcome.ok:
            self.breakers.succeeded(url)
            await self._store.webhook_delivered(doc["_id"], at=now)
            log.info("webhook_delivered", recipient=doc["recipient"], attempt=attempt)
            return
        self.breakers.failed(url)
        if outcome.retryable and attempt < self._settings.webhook_attempts:
            delay = backoff_s(
                attempt,
                first_s=self._settings.webhook_backoff_s,
                max_s=self._settings.webhook_max_backoff_s,
                rand=self._rand,
            )
            await self._store.webhook_retry_at(doc["_id"], next_at=now + timedelta(seconds=delay))
            log.warning("webhook_retry", recipient=doc["recipient"], attempt=attempt, error=outcome.error)
            return
        await self._dead_letter(doc, outcome, attempt=attempt, now=now)

    async def _post(self, client: httpx.AsyncClient, url: str, doc: Document) -> _Outcome:
        record = doc["record"]
        body = record["value"].encode()
        timestamp = str(int(self._clock().timestamp()))
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(self._settings.webhook_key, timestamp, body),
            "X-Weerbaar-Notification-Id": doc["_id"],
            "X-Weerbaar-Attempt": str(doc["webhook"]["attempt"]),
            **{
                name.replace("_", "-"): str(value)
                for name, value in record["headers"].items()
                if name != "content-type"
            },
        }
        try:
            response = await client.post(url, content=body, headers=headers, timeout=self._settings.webhook_timeout_s)
        except httpx.TimeoutException:
            return _Outcome(ok=False, retryable=True, status_code=None, error="timeout")
        except httpx.HTTPError as exc:
            return _Outcome(ok=False, retryable=True, status_code=None, error=type(exc).__name__)
        code = response.status_code
        if 200 <= code < 300:
            return _Outcome(ok=True, retryable=False, status_code=code, error="")
        retryable = code >= 500 or code in _RETRYABLE_4XX
        return _Outcome(ok=False, retryable=retryable, status_code=code, error=f"HTTP {code}")

    async def _dead_letter(self, doc: Document, outcome: _Outcome, *, attempt: int, now: datetime) -> None:
        record = doc["record"]
        reason = f"webhook delivery to {doc['webhook']['url']} failed after {attempt} attempt(s): {outcome.error}"
        dead: Document = {
            "event_id": domain.derived_id(doc["_id"], "webhook-dlq"),
            "topic": dlq_topic(record["topic"]),
            "key": record["key"],
            "value": record["value"],
            "headers": {
                **record["headers"],
                "dlq_reason": reason[:2000],
                "dlq_error_kind": "webhook_retryable_exhausted" if outcome.retryable else "webhook_rejected",
                "dlq_attempts": str(attempt),
                "dlq_source_topic": record["topic"],
                "dlq_service": self._service,
                "dlq_failed_at": now.isoformat(),
            },
        }
        failed = domain.status(stored_notification(doc), NotificationState.FAILED, detail=reason, occurrence="webhook")
        source = f"/weerbaar/{self._service}"
        await self._store.webhook_failed(doc["_id"], at=now, outbox=[dead, outbox_entry(failed, source=source)])
        log.error("webhook_dead_lettered", recipient=doc["recipient"], attempts=attempt, error=outcome.error)
        await self._outbox.flush_quietly(self._store.notifications, doc["_id"])
