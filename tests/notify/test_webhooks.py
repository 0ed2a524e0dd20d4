"""Webhook delivery against a local receiver that fails, times out and recovers; signatures; breaker; DLQ."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
import pytest
import uvicorn
from pymongo.asynchronous.database import AsyncDatabase
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.notify import domain, webhooks
from services.notify.model import SentNotification, WebhookState
from services.notify.sending import Outboxes, Sender
from services.notify.service import policy_of
from services.notify.settings import Settings
from services.notify.store import NotifyStore
from shared.contracts.envelope import to_record
from shared.contracts.events import RiskLevel
from shared.contracts.notifications import on_the_wire
from shared.contracts.topics import Recipient, burgemeester_topic, dlq_topic
from shared.messaging.kafka import EventPublisher
from shared.runtime.settings import CommonSettings
from shared.security.crypto import DataCipher
from shared.store.mongo import Document
from tests.notify.harness import decision, report
from tests.support.endpoints import Endpoints
from tests.support.probe import TopicProbe
from tests.support.services import free_port

SECRET = b"test-webhook-secret"
SOURCE = "/weerbaar/notify"
CIPHER = DataCipher.from_settings(CommonSettings())


@dataclass
class Receiver:
    """Answers each request with the next scripted behaviour: an HTTP status, or 'timeout'."""

    script: list[int | str] = field(default_factory=list)
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: Request) -> Response:
        self.received.append((dict(request.headers), await request.body()))
        step = self.script.pop(0) if self.script else 200
        if step == "timeout":
            await asyncio.sleep(2)
            step = 200
        return Response(status_code=int(step))


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    port = free_port()
    app = Starlette(routes=[Route("/hook", found.handle, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    found.url = f"http://127.0.0.1:{port}/hook"
    yield found
    server.should_exit = True
    await task


def _settings(url: str, *, attempts: int) -> Settings:
    return Settings(
        webhook_urls={Recipient.BURGEMEESTER: url},
        webhook_secret=SECRET.decode(),
        webhook_attempts=attempts,
        webhook_backoff_s=0.05,
        webhook_max_backoff_s=0.2,
        webhook_timeout_s=0.5,
        breaker_failures=50,
    )


async def _notification(store: NotifyStore, settings: Settings) -> SentNotification:
    case_id = uuid.uuid4().hex
    triaged = decision(case_id, level=RiskLevel.HIGH, routes=())
    payload = domain.project(triaged, report(wants_aangifte=False), Recipient.BURGEMEESTER, "test")
    notification = SentNotification.send(payload, assessment_no=1, at=datetime.now(UTC), policy=policy_of(settings))
    await store.create([notification])
    return notification


def _delivery(store: NotifyStore, publisher: EventPublisher, settings: Settings) -> webhooks.WebhookDelivery:
    sender = Sender(publisher, source=SOURCE, service="test")
    return webhooks.WebhookDelivery(store, sender, Outboxes(store, sender), settings)


async def _deliver_until(
    delivery: webhooks.WebhookDelivery, store: NotifyStore, nid: str, state: WebhookState
) -> SentNotification:
    deadline = time.monotonic() + 20
    async with httpx.AsyncClient() as client:
        while True:
            await delivery.deliver_due(client)
            found = await store.peek_notification(nid)
            assert found is not None
            assert found.webhook is not None
            if found.webhook.state is state:
                return found
            assert time.monotonic() < deadline, found.webhook
            await asyncio.sleep(0.05)


@pytest.mark.integration
async def test_failing_and_slow_receiver_is_retried_until_it_recovers(
    receiver: Receiver, store: AsyncDatabase[Document], publisher: EventPublisher
) -> None:
    notify_store = NotifyStore(store, CIPHER)
    receiver.script = [500, "timeout", 503, 200]
    settings = _settings(receiver.url, attempts=6)
    nid = (await _notification(notify_store, settings)).notification_id
    await _deliver_until(_delivery(notify_store, publisher, settings), notify_store, nid, WebhookState.DELIVERED)

    log = await notify_store.delivery_log(nid)
    assert [(e.attempt, e.ok, e.error) for e in log] == [
        (1, False, "HTTP 500"),
        (2, False, "timeout"),
        (3, False, "HTTP 503"),
        (4, True, ""),
    ]
    for headers, raw in receiver.received:
        assert webhooks.verify(
            SECRET,
            timestamp=headers["x-weerbaar-timestamp"],
            body=raw,
            signature=headers["x-weerbaar-signature"],
            now=time.time(),
        )
        assert headers["ce-id"]
        assert headers["x-weerbaar-notification-id"] == nid


@pytest.mark.integration
async def test_receiver_that_never_recovers_is_dead_lettered_with_the_reason(
    receiver: Receiver, store: AsyncDatabase[Document], publisher: EventPublisher, endpoints: Endpoints
) -> None:
    notify_store = NotifyStore(store, CIPHER)
    receiver.script = [500] * 10
    settings = _settings(receiver.url, attempts=3)
    sent = await _notification(notify_store, settings)
    nid = sent.notification_id
    topic = dlq_topic(burgemeester_topic("GM0344"))
    probe = TopicProbe(endpoints.kafka_bootstrap, [topic])
    await probe.start()
    try:
        delivery = _delivery(notify_store, publisher, settings)
        found = await _deliver_until(delivery, notify_store, nid, WebhookState.FAILED)
        (dead,) = await probe.wait_for(topic, found.case_id)
    finally:
        await probe.stop()
    assert sent.payload is not None
    on_topic = to_record(on_the_wire(sent.payload), source=SOURCE, topic=burgemeester_topic("GM0344"))
    assert dead.value == on_topic.value, "the record as its topic carries it (a notice) goes to the DLQ"
    assert b"office_holder_name" not in dead.value
    assert b"office_holder_name" in receiver.received[0][1], "the webhook itself got the whole notification"
    assert "failed after 3 attempt(s): HTTP 500" in dead.headers["dlq_reason"]
    assert dead.headers["dlq_attempts"] == "3"
    assert len(await notify_store.delivery_log(nid)) == 3
    assert len(receiver.received) == 3
    assert not found.outbox, "what the failure caused was published"


def test_signature_rejects_tampering_and_replay() -> None:
    raw = b'{"x": 1}'
    now = time.time()
    stamp = str(int(now))
    signature = webhooks.sign(SECRET, stamp, raw)
    assert webhooks.verify(SECRET, timestamp=stamp, body=raw, signature=signature, now=now)
    assert not webhooks.verify(SECRET, timestamp=stamp, body=b'{"x": 2}', signature=signature, now=now)
    assert not webhooks.verify(b"other", timestamp=stamp, body=raw, signature=signature, now=now)
    assert not webhooks.verify(SECRET, timestamp=stamp, body=raw, signature=signature, now=now + 3600)


def test_backoff_grows_is_capped_and_jittered() -> None:
    low = [webhooks.backoff_s(n, first_s=1, max_s=30, rand=lambda: 0.0) for n in range(1, 8)]
    high = [webhooks.backoff_s(n, first_s=1, max_s=30, rand=lambda: 1.0) for n in range(1, 8)]
    assert high == [1, 2, 4, 8, 16, 30, 30]
    assert low == [h / 2 for h in high]


def test_breaker_opens_after_consecutive_failures_and_probes_after_reset() -> None:
    now = [0.0]
    breakers = webhooks.CircuitBreakers(threshold=3, reset_s=10, clock=lambda: now[0])
    for _ in range(2):
        breakers.failed("u")
    assert breakers.blocked_for("u") == 0
    breakers.failed("u")
    assert breakers.blocked_for("u") == 10
    assert breakers.blocked_for("other") == 0
    now[0] = 10.5
    assert breakers.blocked_for("u") == 0, "half-open: one probe may go"
    breakers.succeeded("u")
    breakers.failed("u")
    assert breakers.blocked_for("u") == 0
