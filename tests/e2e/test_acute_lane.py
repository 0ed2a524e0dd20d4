"""A critical report travels the acute lane: its own topics, ahead of any routine backlog."""

from __future__ import annotations

import uuid

import httpx
import pytest

from shared.contracts import topics
from shared.contracts.topics import Recipient, notify_topic
from tests.support.auth import BearerAuth
from tests.support.endpoints import Endpoints
from tests.support.probe import TopicProbe
from tests.support.samples import unique_body
from tests.support.services import RunningServices

pytestmark = pytest.mark.e2e


async def test_critical_report_travels_the_acute_lane_to_the_police(
    services: RunningServices, endpoints: Endpoints
) -> None:
    watched = [topics.INCIDENT_URGENT, topics.CASE_TRIAGED_URGENT, notify_topic(Recipient.POLICE)]
    probe = TopicProbe(endpoints.kafka_bootstrap, watched)
    await probe.start()
    acute = unique_body(
        **{
            "incident.indicators": {"home_visited": True, "weapon_mentioned": True, "approach_intent": True},
            "incident.types": ["threat", "home_visit"],
            "incident.channel": "at_home",
        }
    )
    async with httpx.AsyncClient(base_url=services.url("intake"), timeout=10, auth=BearerAuth("reporter")) as client:
        response = await client.post("/v1/incidents", json=acute, headers={"Idempotency-Key": uuid.uuid4().hex})
    case_id = response.json()["case_id"]
    try:
        (urgent_report,) = await probe.wait_for(topics.INCIDENT_URGENT, case_id)
        (urgent_decision,) = await probe.wait_for(topics.CASE_TRIAGED_URGENT, case_id)
        police = await probe.wait_for(notify_topic(Recipient.POLICE), case_id)
    finally:
        await probe.stop()
    assert urgent_report.headers["ce_type"] == "nl.weerbaar.incident.reported.v1"
    assert urgent_decision.json()["level"] == "critical"
    assert len({p.json()["notification_id"] for p in police}) == 1, "both lanes yield one notification"


async def test_routine_report_stays_off_the_acute_lane(services: RunningServices, endpoints: Endpoints) -> None:
    probe = TopicProbe(endpoints.kafka_bootstrap, [topics.INCIDENT_URGENT, topics.CASE_TRIAGED])
    await probe.start()
    calm = unique_body(
        **{"incident.indicators": {}, "incident.types": ["verbal_aggression"], "incident.description": "Boze mail"}
    )
    async with httpx.AsyncClient(base_url=services.url("intake"), timeout=10, auth=BearerAuth("reporter")) as client:
        case_id = (await client.post("/v1/incidents", json=calm)).json()["case_id"]
    try:
        await probe.wait_for(topics.CASE_TRIAGED, case_id)
        await probe.settle(1.0)
    finally:
        await probe.stop()
    assert probe.all(topics.INCIDENT_URGENT, case_id) == []
