"""Notify on the real stack: per-recipient fields, acknowledgement, escalation, follow-up, duplicates, restarts."""

from __future__ import annotations

import asyncio
import json
import signal
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from shared.contracts import topics
from shared.contracts.envelope import to_record
from shared.contracts.events import NotificationAck
from shared.contracts.notifications import RECIPIENT_MODELS, details_path, wire_model
from shared.contracts.topics import Recipient, notify_topic
from shared.messaging.kafka_auth import operator_options
from tests.support.auth import BearerAuth, headers
from tests.support.endpoints import Endpoints
from tests.support.probe import Seen, TopicProbe, delivered_on
from tests.support.samples import body
from tests.support.services import RunningServices

pytestmark = pytest.mark.e2e

ACK_TIMEOUT_S = 2
FAST_NOTIFY_ENV = {
    "WEERBAAR_ACK_TIMEOUT_S": str(ACK_TIMEOUT_S),
    "WEERBAAR_ACK_MAX_RESENDS": "1",
    "WEERBAAR_FOLLOWUP_DEADLINE_S": "3",
    "WEERBAAR_SWEEP_INTERVAL_S": "0.3",
}
WATCHED = [topics.CASE_TRIAGED, topics.NOTIFICATION_STATUS, *(delivered_on(r) for r in Recipient)]
NAME, EMAIL, TEXT = "A. Voorbeeld", "s.devries@example.nl", "we weten waar je woont"


def high() -> dict[str, Any]:
    """The contract body for an office holder of its own (reports of one person on one day form one case)."""
    return body(**{"office_holder.name": f"{NAME} {uuid.uuid4().hex[:8]}"})


def critical() -> dict[str, Any]:
    return body(
        **{
            "office_holder.name": f"{NAME} {uuid.uuid4().hex[:8]}",
            "incident.indicators": {"home_visited": True, "weapon_mentioned": True, "explicit_threat": True},
            "incident.types": ["threat", "home_visit"],
        }
    )


@pytest.fixture(scope="module")
def fast_notify(services: RunningServices) -> Iterator[RunningServices]:
    """Notify restarted with short timers for this module; restored afterwards."""
    original = dict(services.env)
    services.stop("notify")
    services.env.update(FAST_NOTIFY_ENV)
    services.start("notify")
    services.wait_ready(services=("notify",))
    yield services
    services.stop("notify")
    services.env.clear()
    services.env.update(original)
    services.start("notify")
    services.wait_ready(services=("notify",))


@pytest.fixture
async def probe(endpoints: Endpoints) -> AsyncIterator[TopicProbe]:
    watcher = TopicProbe(endpoints.kafka_bootstrap, WATCHED)
    await watcher.start()
    yield watcher
    await watcher.stop()


@pytest.fixture
async def producer(endpoints: Endpoints) -> AsyncIterator[AIOKafkaProducer]:
    kafka = AIOKafkaProducer(bootstrap_servers=endpoints.kafka_bootstrap, enable_idempotence=True, **operator_options())
    await kafka.start()
    yield kafka
    await kafka.stop()


async def _report(services: RunningServices, incident: dict[str, Any]) -> str:
    async with httpx.AsyncClient(base_url=services.url("intake"), timeout=10, auth=BearerAuth("reporter")) as client:
        response = await client.post("/v1/incidents", json=incident, headers={"Idempotency-Key": uuid.uuid4().hex})
    assert response.status_code == 201, response.text
    return str(response.json()["case_id"])


def _statuses(probe: TopicProbe, case_id: str, recipient: Recipient) -> list[str]:
    return [
        s.json()["status"] for s in probe.all(topics.NOTIFICATION_STATUS, case_id) if s.json()["recipient"] == recipient
    ]


async def _wait_status(probe: TopicProbe, case_id: str, recipient: Recipient, status: str, timeout: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while status not in _statuses(probe, case_id, recipient):
        assert asyncio.get_running_loop().time() < deadline, (
            f"{recipient} never {status}: {_statuses(probe, case_id, recipient)}"
        )
        await probe.settle(0.2)


async def test_critical_case_reaches_each_recipient_with_only_its_fields(
    fast_notify: RunningServices, probe: TopicProbe
) -> None:
    """Each recipient's topic carries a notice without personal data (BZK's notification whole: it holds none); the
    recipient reads its notification whole over HTTP with its own token, with exactly its own fields."""
    case_id = await _report(fast_notify, critical())
    (triaged,) = await probe.wait_for(topics.CASE_TRIAGED, case_id)
    assert triaged.json()["level"] == "critical"
    wanted = (Recipient.POLICE, Recipient.OM, Recipient.JENV, Recipient.BURGEMEESTER, Recipient.BZK)
    seen: dict[Recipient, Seen] = {r: (await probe.wait_for(delivered_on(r), case_id, timeout=90))[0] for r in wanted}
    for recipient, record in seen.items():
        model = wire_model(RECIPIENT_MODELS[recipient])
        assert set(record.json()) == set(model.model_fields), recipient
        assert record.headers["ce_type"] == model.ce_type
        assert not [v for v in (NAME, EMAIL, TEXT) if v in record.value.decode()], f"{recipient}'s topic"
    assert seen[Recipient.BURGEMEESTER].json()["municipality"] == "GM0344"
    assert "GM0344" not in seen[Recipient.BZK].value.decode()

    whole: dict[Recipient, dict[str, Any]] = {}
    async with httpx.AsyncClient(base_url=fast_notify.url("notify"), timeout=10) as client:
        for recipient, record in seen.items():
            claims = {"municipality": "GM0344"} if recipient is Recipient.BURGEMEESTER else {}
            path = record.json().get("details") or details_path(record.json()["notification_id"])  # BZK: no notice
            details = await client.get(path, headers=headers(recipient.value, **claims))
            assert details.status_code == 200, (recipient, details.text)
            assert details.headers["cache-control"] == "no-store"
            whole[recipient] = details.json()
            assert set(whole[recipient]) == set(RECIPIENT_MODELS[recipient].model_fields), recipient
        police_id = whole[Recipient.POLICE]["notification_id"]
        for stranger in (Recipient.OM, Recipient.BZK):
            refused = await client.get(f"/v1/notifications/{police_id}/details", headers=headers(stranger.value))
            assert refused.status_code == 403, stranger
        html = await client.get(f"/v1/notifications/{police_id}/aangifte.html", headers=headers("police"))
        assert html.status_code == 200
        assert "art. 285 Sr" in html.text
        assert "we weten waar je woont" in html.text.replace("&#x27;", "'")
        om_id = whole[Recipient.OM]["notification_id"]
        assert (await client.get(f"/v1/notifications/{om_id}/aangifte.html", headers=headers("om"))).status_code == 404
    text = {r: json.dumps(w) for r, w in whole.items()}
    assert all(v in text[Recipient.POLICE] for v in (NAME, EMAIL, TEXT))
    assert whole[Recipient.POLICE]["aangifte"]["correspondence"]["choice"] == "office"
    assert NAME in text[Recipient.BURGEMEESTER]
    assert EMAIL not in text[Recipient.BURGEMEESTER]
    assert whole[Recipient.BURGEMEESTER]["home_involved"] is True
    for recipient in (Recipient.OM, Recipient.JENV, Recipient.BZK):
        assert not [v for v in (NAME, EMAIL, TEXT) if v in text[recipient]], recipient
    assert "GM0344" not in text[Recipient.BZK]


async def test_silent_recipient_is_resent_and_escalated_while_acknowledged_ones_are_not(
    fast_notify: RunningServices, probe: TopicProbe, producer: AIOKafkaProducer
) -> None:
    case_id = await _report(fast_notify, critical())
    police = (await probe.wait_for(notify_topic(Recipient.POLICE), case_id, timeout=90))[0].json()
    om = (await probe.wait_for(notify_topic(Recipient.OM), case_id))[0].json()
    burgemeester = (await probe.wait_for(delivered_on(Recipient.BURGEMEESTER), case_id))[0]

    async with httpx.AsyncClient(base_url=fast_notify.url("notify"), timeout=10, auth=BearerAuth("police")) as client:
        ack = {"acknowledged_by": "Team Bedreigde Politici"}
        first = await client.post(f"/v1/notifications/{police['notification_id']}/ack", json=ack)
        again = await client.post(f"/v1/notifications/{police['notification_id']}/ack", json=ack)
        assert first.status_code == 200, first.text
        assert first.json()["changed"] is True
        assert again.json()["changed"] is False
        assert (await client.post("/v1/notifications/nope/ack", json=ack)).status_code == 404
    record = to_record(
        NotificationAck(
            case_id=case_id, notification_id=om["notification_id"], recipient=Recipient.OM, acknowledged_by="OM"
        ),
        source="/test/om-liaison",
    )
    await producer.send_and_wait(record.topic, record.value, key=record.key, headers=list(record.headers.items()))

    await _wait_status(probe, case_id, Recipient.POLICE, "acknowledged")
    await _wait_status(probe, case_id, Recipient.OM, "acknowledged")
    await _wait_status(probe, case_id, Recipient.BURGEMEESTER, "escalated", timeout=ACK_TIMEOUT_S + 20)
    # at least once: a redelivery repeats a record (same event id); the re-send is a new record, resend_no 1
    count = 2
    while True:
        seen = await probe.wait_for(delivered_on(Recipient.BURGEMEESTER), case_id, count=count)
        resent = [r for r in seen if r.json()["resend_no"] == 1]
        if resent:
            break
        count = len(seen) + 1
    assert resent[0].json()["notification_id"] == burgemeester.json()["notification_id"]
    assert all(r.json()["notification_id"] == burgemeester.json()["notification_id"] for r in seen)
    count = 2
    while True:
        otwb = await probe.wait_for(notify_topic(Recipient.OTWB), case_id, count=count)
        notices = [r.json() for r in otwb if r.headers["ce_type"] == "nl.weerbaar.notify.escalation.v1"]
        if notices:
            break
        count = len(otwb) + 1
    assert burgemeester.json()["notification_id"] in {n["escalated_notification_id"] for n in notices}
    await probe.settle(1.0)
    assert "escalated" not in _statuses(probe, case_id, Recipient.POLICE)
    acknowledged = {
        r.headers["ce_id"]
        for r in probe.all(topics.NOTIFICATION_STATUS, case_id)
        if r.json()["recipient"] == Recipient.POLICE and r.json()["status"] == "acknowledged"
    }
    assert len(acknowledged) == 1, "one acknowledgement (a redelivery repeats its event id)"

    # The police acknowledged but nobody reported a follow-up of the aangifte in time: flagged.
    await _wait_status(probe, case_id, Recipient.POLICE, "followup_overdue", timeout=20)
    async with httpx.AsyncClient(base_url=fast_notify.url("notify"), timeout=10) as client:
        overdue = (await client.get("/v1/followups/overdue", headers=headers("police"))).json()["cases"]
    assert case_id in {c["case_id"] for c in overdue}
    assert NAME not in str(overdue)


async def test_duplicate_triage_events_never_duplicate_notifications(
    fast_notify: RunningServices, probe: TopicProbe, producer: AIOKafkaProducer
) -> None:
    case_id = await _report(fast_notify, high())  # high: no ack timers, so no re-sends muddle the count
    (triaged,) = await probe.wait_for(topics.CASE_TRIAGED, case_id)
    routed = [Recipient(r["recipient"]) for r in triaged.json()["routes"]]
    for recipient in routed:
        await probe.wait_for(delivered_on(recipient), case_id, timeout=90)
    headers = [(k, v.encode()) for k, v in triaged.headers.items()]
    for _ in range(2):
        await producer.send_and_wait(topics.CASE_TRIAGED, triaged.value, key=case_id.encode(), headers=headers)
    await probe.wait_for(topics.CASE_TRIAGED, case_id, count=3)
    await probe.settle(3.0)
    for recipient in routed:
        # The outbox publishes at least once (inline flush and relay may race): a redelivered record carries the same
        # notification id and event id, so consumers dedupe it; a duplicate triage event must never mint a new one.
        seen = probe.all(delivered_on(recipient), case_id)
        assert len({s.json()["notification_id"] for s in seen}) == 1, f"{recipient}: {[s.json() for s in seen]}"
        assert len({s.json()["event_id"] for s in seen}) == 1


async def test_notify_killed_mid_flight_loses_nothing(fast_notify: RunningServices, probe: TopicProbe) -> None:
    fast_notify.stop("notify", signal.SIGKILL)
    try:
        case_id = await _report(fast_notify, high())
        (triaged,) = await probe.wait_for(topics.CASE_TRIAGED, case_id)
    finally:
        fast_notify.start("notify")
        await asyncio.to_thread(fast_notify.wait_ready, services=("notify",))
    routed = [Recipient(r["recipient"]) for r in triaged.json()["routes"]]
    for recipient in routed:
        await probe.wait_for(delivered_on(recipient), case_id, timeout=60)
        await _wait_status(probe, case_id, recipient, "sent", timeout=30)
