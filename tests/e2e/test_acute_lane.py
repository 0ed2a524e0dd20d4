"""A critical report travels the acute lane: its own topics, ahead of any routine backlog."""

from __future__ import annotations

import random
import uuid

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from prometheus_client.parser import text_string_to_metric_families

from shared.contracts import topics
from shared.contracts.envelope import to_record
from shared.contracts.events import IncidentReported, ReportSource
from shared.contracts.incident import IncidentReport
from shared.contracts.topics import Recipient, notify_topic
from shared.messaging.kafka_auth import operator_options
from tests.support.auth import BearerAuth
from tests.support.endpoints import Endpoints
from tests.support.probe import TopicProbe
from tests.support.samples import acute_body, unique_body
from tests.support.services import SERVICES, RunningServices
from weerbaar import demo

pytestmark = pytest.mark.e2e

ROUTINE_BACKLOG = 60
ACUTE_ATTEMPTS = 5


async def test_critical_report_travels_the_acute_lane_to_the_police(
    services: RunningServices, endpoints: Endpoints
) -> None:
    watched = [topics.ACUTE_SIGNAL, topics.INCIDENT_URGENT, topics.CASE_TRIAGED_URGENT, notify_topic(Recipient.POLICE)]
    probe = TopicProbe(endpoints.kafka_bootstrap, watched)
    await probe.start()
    acute = acute_body()
    async with httpx.AsyncClient(base_url=services.url("intake"), timeout=10, auth=BearerAuth("reporter")) as client:
        response = await client.post("/v1/incidents", json=acute, headers={"Idempotency-Key": uuid.uuid4().hex})
    case_id = response.json()["case_id"]
    try:
        (signal,) = await probe.wait_for(topics.ACUTE_SIGNAL, case_id)
        (urgent_report,) = await probe.wait_for(topics.INCIDENT_URGENT, case_id)
        (urgent_decision,) = await probe.wait_for(topics.CASE_TRIAGED_URGENT, case_id)
        police = await probe.wait_for(notify_topic(Recipient.POLICE), case_id)
    finally:
        await probe.stop()
    # the heads-up went out before the report was stored, and says nothing but the case
    assert signal.timestamp_ms <= urgent_report.timestamp_ms
    assert set(signal.json()) == {"schema_version", "event_id", "occurred", "case_id"}
    assert urgent_report.headers["ce_type"] == "nl.weerbaar.incident.reported.v1"
    assert urgent_decision.json()["level"] == "critical"
    assert len({p.json()["notification_id"] for p in police}) == 1, "both lanes yield one notification"


async def test_routine_report_stays_off_the_acute_lane(services: RunningServices, endpoints: Endpoints) -> None:
    probe = TopicProbe(endpoints.kafka_bootstrap, [topics.ACUTE_SIGNAL, topics.INCIDENT_URGENT, topics.CASE_TRIAGED])
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
    assert probe.all(topics.ACUTE_SIGNAL, case_id) == []


def _yielded(text: str, service: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "weerbaar_acute_yields_total" and sample.labels.get("service") == service:
                return float(sample.value)
    return 0.0


async def _yields(services: RunningServices) -> dict[str, float]:
    async with httpx.AsyncClient(timeout=10) as client:
        return {s: _yielded((await client.get(services.url(s) + "/metrics")).text, s) for s in SERVICES}


async def test_routine_work_in_every_service_steps_aside_while_an_acute_report_travels(
    services: RunningServices, endpoints: Endpoints
) -> None:
    # Whether a service is in the middle of a store command while one acute report travels (a few hundred ms) is
    # timing: reporting in particular folds each event in a few ms and then waits for the next. So a backlog keeps
    # every service busy, and acute reports follow one at a time until each service has been seen stepping aside;
    # a service whose routine work never consults the gate fails every attempt.
    before = await _yields(services)
    rng = random.Random(5)
    backlog = [
        to_record(
            IncidentReported(
                case_id=f"yield-{uuid.uuid4().hex[:8]}-{n}",
                source=ReportSource.BULK,
                report=IncidentReport.model_validate(demo.incident(rng, acute=False)),
            ),
            source="/tests/backlog",
        )
        for n in range(ROUTINE_BACKLOG)
    ]
    producer = AIOKafkaProducer(bootstrap_servers=endpoints.kafka_bootstrap, acks="all", **operator_options())
    await producer.start()
    try:
        for record in backlog:
            await producer.send(record.topic, record.value, key=record.key, headers=list(record.headers.items()))
        await producer.flush()
    finally:
        await producer.stop()
    stepped_aside: set[str] = set()
    probe = TopicProbe(endpoints.kafka_bootstrap, [notify_topic(Recipient.POLICE)])
    await probe.start()
    try:
        intake = services.url("intake")
        async with httpx.AsyncClient(base_url=intake, timeout=30, auth=BearerAuth("reporter")) as client:
            for _ in range(ACUTE_ATTEMPTS):
                response = await client.post("/v1/incidents", json=demo.incident(rng, acute=True))
                response.raise_for_status()
                await probe.wait_for(notify_topic(Recipient.POLICE), response.json()["case_id"], timeout=60)
                after = await _yields(services)
                stepped_aside = {s for s in SERVICES if after[s] > before[s]}
                if stepped_aside == set(SERVICES):
                    break
    finally:
        await probe.stop()
    assert stepped_aside == set(SERVICES), f"routine work kept the store busy in {set(SERVICES) - stepped_aside}"
