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
from services.notify.settings import Settings
from services.notify.store import NotifyStore
from shared.contracts.events import CaseFacts, CaseTriaged, RiskLevel
from shared.contracts.incident import IncidentReport
from shared.contracts.topics import Recipient, dlq_topic, notify_topic
from shared.kafka import EventPublisher, make_broker
from shared.mongo import Document
from shared.outbox import Outbox, outbox_entry
from tests.support.endpoints import Endpoints
from tests.support.probe import TopicProbe
from tests.support.samples import body
from tests.support.services import free_port

SECRET = b"test-webhook-secret"


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


async def _notification_doc(store: NotifyStore, url: str) -> str:
    report = IncidentReport.model_validate(body())
    case_id = uuid.uuid4().hex
    triaged = CaseTriaged(
        case_id=case_id,
        assessment_no=1,
        policy_version="test",
        level=RiskLevel.HIGH,
        score=50,
        factors=(),
        routes=(),
        facts=CaseFacts(
            office_holder_ref="oh_test",
            role=report.office_holder.role,
            body_kind=report.office_holder.body.kind,
            body_code=report.office_holder.body.code,
            gender=report.office_holder.gender,
            types=tuple(report.incident.types),
            channel=report.incident.channel,
            occurred_at=report.incident.occurred_at,
            reported_at=datetime.now(UTC),
            impact_on_functioning=False,
            wants_aangifte=False,
        ),
    )
    notification = domain.project(triaged, report, Recipient.BURGEMEESTER, "test")
    record = outbox_entry(notification, source="/test", topic=notify_topic(Recipient.BURGEMEESTER))
    await store.create_notification(
        {
            "_id": notification.notification_id,
            "case_id": case_id,
            "recipient": "burgemeester",
            "level": "high",
            "payload": notification.model_dump(mode="json"),
            "record": record,
            "webhook": {"url": url, "state": "pending", "attempt": 0, "next_at": datetime.now(UTC)},
        }
    )
    return notification.notification_id


@pytest.fixture
async def publisher(endpoints: Endpoints) -> AsyncIterator[EventPublisher]:
    broker = make_broker(bootstrap=endpoints.kafka_bootstrap, service="test-webhooks")
    await broker.start()
    yield EventPublisher(broker, source="/test")
    await broker.stop()


async def _deliver_until(delivery: webhooks.WebhookDelivery, store: NotifyStore, nid: str, state: str) -> Document:
    deadline = time.monotonic() + 20
    async with httpx.AsyncClient() as client:
        while True:
            await delivery.deliver_due(client)
            doc = await store.notification(nid)
            assert doc is not None
            if doc["webhook"]["state"] == state:
                return doc
            assert time.monotonic() < deadline, doc["webhook"]
            await asyncio.sleep(0.05)


@pytest.mark.integration
async def test_failing_and_slow_receiver_is_retried_until_it_recovers(
    receiver: Receiver, store: AsyncDatabase[Document], publisher: EventPublisher
) -> None:
    notify_store = NotifyStore(store)
    receiver.script = [500, "timeout", 503, 200]
    nid = await _notification_doc(notify_store, receiver.url)
    outbox = Outbox(publisher, service="test", interval_s=1)
    delivery = webhooks.WebhookDelivery(notify_store, outbox, _settings(receiver.url, attempts=6))
    await _deliver_until(delivery, notify_store, nid, "delivered")

    log = await notify_store.delivery_log(nid)
    assert [(e["attempt"], e["ok"], e["error"]) for e in log] == [
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
    notify_store = NotifyStore(store)
    receiver.script = [500] * 10
    nid = await _notification_doc(notify_store, receiver.url)
    topic = dlq_topic(notify_topic(Recipient.BURGEMEESTER))
    probe = TopicProbe(endpoints.kafka_bootstrap, [topic])
    await probe.start()
    try:
        outbox = Outbox(publisher, service="test", interval_s=1)
        delivery = webhooks.WebhookDelivery(notify_store, outbox, _settings(receiver.url, attempts=3))
        doc = await _deliver_until(delivery, notify_store, nid, "failed")
        (dead,) = await probe.wait_for(topic, doc["case_id"])
    finally:
        await probe.stop()
    assert dead.value.decode() == doc["record"]["value"], "the original bytes go to the DLQ"
    assert "failed after 3 attempt(s): HTTP 500" in dead.headers["dlq_reason"]
    assert dead.headers["dlq_attempts"] == "3"
    assert len(await notify_store.delivery_log(nid)) == 3
    assert len(receiver.received) == 3


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
