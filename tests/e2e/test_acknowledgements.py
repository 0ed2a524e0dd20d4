"""Acknowledgements on the real broker and services: each recipient acknowledges only for itself.

An acknowledgement stops a critical notification's escalation. A liaison principal that writes another recipient's
acknowledgement topic is refused by the broker; one that writes its own topic but names another recipient's (or another
municipality's) notification is dead-lettered by notify, and that notification stays unacknowledged.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import TopicAuthorizationFailedError

from shared.contracts import topics
from shared.contracts.envelope import to_record
from shared.contracts.events import NotificationAck
from shared.contracts.principals import gemeente_principal, liaison_principal
from shared.contracts.topics import Recipient, ack_topic, dlq_topic
from shared.messaging.kafka_auth import client_options
from shared.runtime.settings import CommonSettings
from tests.support.auth import headers
from tests.support.endpoints import Endpoints
from tests.support.probe import TopicProbe
from tests.support.samples import acute_body
from tests.support.services import RunningServices

pytestmark = pytest.mark.e2e

OWN, OTHER = "GM0344", "GM0363"
BREAK_GLASS = {"X-Break-Glass-Reason": "acknowledgement test: checking the notifications"}


@asynccontextmanager
async def _producer(bootstrap: str, principal: str) -> AsyncIterator[AIOKafkaProducer]:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        request_timeout_ms=10_000,
        **client_options(CommonSettings(), principal=principal),
    )
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()


async def _send(producer: AIOKafkaProducer, topic: str, ack: NotificationAck) -> None:
    record = to_record(ack, source="/test/liaison", topic=topic)
    await asyncio.wait_for(
        producer.send_and_wait(topic, record.value, key=record.key, headers=list(record.headers.items())), 20
    )


def _ack(case_id: str, notification_id: str, recipient: Recipient) -> NotificationAck:
    return NotificationAck(
        case_id=case_id, notification_id=notification_id, recipient=recipient, acknowledged_by=f"forger {recipient}"
    )


async def test_the_broker_refuses_an_acknowledgement_on_another_recipients_topic(endpoints: Endpoints) -> None:
    forged = _ack(f"case-{uuid.uuid4().hex[:8]}", "n-forged", Recipient.POLICE)
    attempts = [
        (liaison_principal(Recipient.OM), ack_topic(Recipient.POLICE)),
        (liaison_principal(Recipient.POLICE), topics.NOTIFICATION_ACK),  # the shared topic is the operator's now
        (gemeente_principal(OTHER), ack_topic(Recipient.BURGEMEESTER, OWN)),
        (gemeente_principal(OWN), ack_topic(Recipient.POLICE)),
    ]
    for principal, topic in attempts:
        async with _producer(endpoints.kafka_bootstrap, principal) as producer:
            with pytest.raises(TopicAuthorizationFailedError):
                await _send(producer, topic, forged)


async def _notifications(client: httpx.AsyncClient, case_id: str) -> dict[str, Any]:
    """The case's notifications by recipient, once police, OM and the burgemeester have one."""
    deadline = time.monotonic() + 60
    while True:
        case = (await client.get(f"/v1/cases/{case_id}", headers={**headers("admin"), **BREAK_GLASS})).json()
        found: dict[str, Any] = case.get("notifications", {})
        if {"police", "om", "burgemeester"} <= set(found):
            return found
        assert time.monotonic() < deadline, case
        await asyncio.sleep(0.3)


async def _acknowledged(notify: httpx.AsyncClient, notification_id: str, role: str, **claims: str) -> bool:
    seen = await notify.get(f"/v1/notifications/{notification_id}", headers=headers(role, **claims))
    assert seen.status_code == 200, seen.text
    return bool(seen.json()["acknowledged"])


async def test_an_acknowledgement_naming_another_recipient_is_dead_lettered_and_changes_nothing(
    services: RunningServices, endpoints: Endpoints
) -> None:
    report = acute_body()  # critical, in GM0344: police, OM and its burgemeester are told
    police_acks, other_gemeente_acks = ack_topic(Recipient.POLICE), ack_topic(Recipient.BURGEMEESTER, OTHER)
    probe = TopicProbe(endpoints.kafka_bootstrap, [dlq_topic(police_acks), dlq_topic(other_gemeente_acks)])
    await probe.start()
    try:
        async with httpx.AsyncClient(base_url=services.url("intake"), timeout=10) as intake:
            filed = await intake.post("/v1/incidents", json=report, headers=headers("reporter"))
            assert filed.status_code == 201, filed.text
            case_id = filed.json()["case_id"]
            sent = await _notifications(intake, case_id)
        om, burgemeester = sent["om"]["notification_id"], sent["burgemeester"]["notification_id"]
        police = sent["police"]["notification_id"]

        async with _producer(endpoints.kafka_bootstrap, liaison_principal(Recipient.POLICE)) as liaison:
            await _send(liaison, police_acks, _ack(case_id, om, Recipient.OM))  # says so: not police's to say
            await _send(liaison, police_acks, _ack(case_id, om, Recipient.POLICE))  # pretends OM's is police's
        async with _producer(endpoints.kafka_bootstrap, gemeente_principal(OTHER)) as gemeente:
            await _send(gemeente, other_gemeente_acks, _ack(case_id, burgemeester, Recipient.BURGEMEESTER))

        dead = await probe.wait_for(dlq_topic(police_acks), case_id, count=2, timeout=60)
        dead += await probe.wait_for(dlq_topic(other_gemeente_acks), case_id, timeout=60)
        assert {d.headers["dlq_error_kind"] for d in dead} == {"wrong_recipient"}, [d.headers for d in dead]
        assert all(d.headers["dlq_service"] == "notify" for d in dead)

        async with httpx.AsyncClient(base_url=services.url("notify"), timeout=10) as notify:
            assert not await _acknowledged(notify, om, "om")
            assert not await _acknowledged(notify, burgemeester, "burgemeester", municipality=OWN)
            # The police acknowledging its own, on its own topic, works (and the forged ones are still refused).
            async with _producer(endpoints.kafka_bootstrap, liaison_principal(Recipient.POLICE)) as liaison:
                await _send(liaison, police_acks, _ack(case_id, police, Recipient.POLICE))
            deadline = time.monotonic() + 60
            while not await _acknowledged(notify, police, "police"):
                assert time.monotonic() < deadline, "the police's own acknowledgement never arrived"
                await asyncio.sleep(0.3)
            assert not await _acknowledged(notify, om, "om")
            assert not await _acknowledged(notify, burgemeester, "burgemeester", municipality=OWN)
    finally:
        await probe.stop()
