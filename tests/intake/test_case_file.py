"""The case file on the real stack: one case per incident, links between cases, bulk reports, event order."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from shared.contracts.envelope import Record
from shared.contracts.events import (
    IncidentReported,
    NotificationState,
    NotificationStatus,
    ReportSource,
    RiskLevel,
)
from shared.contracts.incident import IncidentReport
from shared.contracts.topics import INCIDENT_REPORTED, Recipient, dlq_topic
from shared.messaging.kafka import EventPublisher, make_broker
from shared.messaging.kafka_auth import operator_options
from tests.intake.events import triaged
from tests.support.auth import DeskAuth
from tests.support.endpoints import Endpoints
from tests.support.probe import TopicProbe
from tests.support.samples import unique_body
from tests.support.services import RunningServices

pytestmark = pytest.mark.e2e


@pytest.fixture
async def client(services: RunningServices) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=services.url("intake"), timeout=10, auth=DeskAuth()) as http:
        yield http


@pytest.fixture
async def publisher(endpoints: Endpoints) -> AsyncIterator[EventPublisher]:
    broker = make_broker(bootstrap=endpoints.kafka_bootstrap, service="test-feed", security=operator_options())
    await broker.connect()
    yield EventPublisher(broker, source="/test/feed")
    await broker.stop()


async def _case(client: httpx.AsyncClient, case_id: str, until: Any, timeout: float = 30) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout
    case: dict[str, Any] = {}
    while asyncio.get_running_loop().time() < deadline:
        response = await client.get(f"/v1/cases/{case_id}")
        if response.status_code == 200:
            case = response.json()
            if until(case):
                return case
        await asyncio.sleep(0.1)
    raise AssertionError(f"case {case_id} never satisfied the condition: {case}")


async def test_the_same_incident_reported_by_office_holder_and_griffie_is_one_case_with_two_reports(
    client: httpx.AsyncClient,
) -> None:
    own = unique_body()
    by_griffie = {
        **own,
        "reported_by": {"kind": "on_behalf", "organisation": "griffie GM0344"},
        "incident": {**own["incident"], "occurred_at": "2026-11-20T22:10:00+01:00", "description": "Dreigbericht"},
    }
    first = await client.post("/v1/incidents", json=own)
    second = await client.post("/v1/incidents", json=by_griffie)
    assert first.status_code == second.status_code == 201
    assert second.json()["case_id"] == first.json()["case_id"]
    assert second.json()["merged_into_existing_case"] is True
    case = await _case(client, first.json()["case_id"], lambda c: len(c["reports"]) == 2)
    assert {r["report"]["reported_by"]["kind"] for r in case["reports"]} == {"self", "on_behalf"}
    assert any(e["summary"].startswith("Further report of the same incident") for e in case["timeline"])


async def test_a_later_incident_against_the_same_office_holder_is_a_linked_case(client: httpx.AsyncClient) -> None:
    first_body = unique_body()
    later = {**first_body, "incident": {**first_body["incident"], "occurred_at": "2026-11-25T09:00:00+01:00"}}
    first = (await client.post("/v1/incidents", json=first_body)).json()
    second = (await client.post("/v1/incidents", json=later)).json()
    assert second["case_id"] != first["case_id"]
    case = await _case(client, second["case_id"], lambda c: bool(c["links"]))
    assert case["links"] == [{"case_id": first["case_id"], "reason": "same office holder"}]


async def test_incidents_by_the_same_known_perpetrator_are_linked_across_office_holders(
    client: httpx.AsyncClient,
) -> None:
    handle = f"@boze_burger_{uuid.uuid4().hex[:6]}"
    one = unique_body(**{"incident.perpetrator": "repeat", "incident.perpetrator_handle": handle})
    two = unique_body(**{"incident.perpetrator": "repeat", "incident.perpetrator_handle": handle.upper()})
    first = (await client.post("/v1/incidents", json=one)).json()
    second = (await client.post("/v1/incidents", json=two)).json()
    case = await _case(client, second["case_id"], lambda c: bool(c["links"]))
    assert {"case_id": first["case_id"], "reason": "same known perpetrator"} in case["links"]
    assert handle not in str(case["links"])


async def test_a_bulk_feed_report_opens_a_case_that_is_triaged(
    client: httpx.AsyncClient, publisher: EventPublisher
) -> None:
    event = IncidentReported(
        case_id=uuid.uuid4().hex,
        source=ReportSource.BULK,
        report=IncidentReport.model_validate(unique_body()),
    )
    await publisher.publish(event)
    case = await _case(client, event.case_id, lambda c: c["status"] in ("triaged", "notified"))
    assert case["reports"][0]["source"] == "bulk"
    assert case["timeline"][0]["summary"].endswith("via bulk")


async def test_an_invalid_bulk_message_goes_to_the_dlq_with_its_reason(
    services: RunningServices, endpoints: Endpoints, publisher: EventPublisher
) -> None:
    probe = TopicProbe(endpoints.kafka_bootstrap, [dlq_topic(INCIDENT_REPORTED)])
    await probe.start()
    bad_case = uuid.uuid4().hex
    broken = {"case_id": bad_case, "source": "bulk", "report": unique_body(**{"incident.types": []})}
    await publisher.send(
        Record(
            topic=INCIDENT_REPORTED,
            key=bad_case.encode(),
            value=json.dumps(broken).encode(),
            headers={"ce_type": b"nl.weerbaar.incident.reported.v1"},
        )
    )
    # every service that consumes the topic dead-letters it for its own group (a redelivery may add more)
    count = 1
    while True:
        dead = await probe.wait_for(dlq_topic(INCIDENT_REPORTED), bad_case, count=count)
        by_service = {d.headers["dlq_service"]: d for d in dead}
        if {"intake", "triage", "notify"} <= set(by_service):
            break
        count = len(dead) + 1
    await probe.stop()
    assert "report.incident.types" in by_service["intake"].headers["dlq_reason"]


async def test_duplicate_and_late_events_do_not_corrupt_the_case(
    client: httpx.AsyncClient, publisher: EventPublisher
) -> None:
    case_id = (await client.post("/v1/incidents", json=unique_body())).json()["case_id"]
    await _case(client, case_id, lambda c: c["risk"] is not None)
    second = triaged(case_id, 2, RiskLevel.CRITICAL)
    await publisher.publish(second)
    await publisher.publish(second)  # a duplicate
    await publisher.publish(triaged(case_id, 1, RiskLevel.LOW))  # a late, older assessment
    ack = NotificationStatus(
        case_id=case_id,
        notification_id="n-test",
        recipient=Recipient.OM,
        status=NotificationState.ACKNOWLEDGED,
        level=RiskLevel.CRITICAL,
    )
    await publisher.publish(ack)
    late_sent = NotificationStatus(
        case_id=case_id,
        notification_id="n-test",
        recipient=Recipient.OM,
        status=NotificationState.SENT,
        level=RiskLevel.CRITICAL,
    )
    await publisher.publish(late_sent)
    case = await _case(client, case_id, lambda c: sum(e["event_id"] == late_sent.event_id for e in c["timeline"]))
    assert case["risk"]["assessment_no"] == 2
    assert case["risk"]["level"] == "critical"
    assert sum(e["event_id"] == second.event_id for e in case["timeline"]) == 1
    assert case["notifications"]["om"]["status"] == "acknowledged"
