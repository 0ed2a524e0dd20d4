"""A report a bulk source wrote in clear leaves the log once every service has taken it (shared/messaging/handoff.py):
an erasure cannot reach a copy no per-case key seals, so the copy must not outlive its readers."""

from __future__ import annotations

import uuid

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from pymongo.asynchronous.database import AsyncDatabase

from shared.contracts.envelope import to_record
from shared.contracts.events import IncidentReported, ReportSource, new_id
from shared.contracts.incident import IncidentReport
from shared.contracts.topics import HANDOFF_TOPICS, INCIDENT_REPORTED
from shared.messaging.kafka_auth import operator_options
from shared.store.mongo import Document
from tests.chaos.verify import read_all
from tests.support.auth import headers
from tests.support.endpoints import Endpoints
from tests.support.probe import TopicProbe
from tests.support.samples import unique_body
from tests.support.services import RunningServices
from tests.support.waiting import until

pytestmark = pytest.mark.e2e

ADMIN = {**headers("admin"), "X-Break-Glass-Reason": "hand-off test: the case a bulk report opened"}


async def _feed(bootstrap: str, event: IncidentReported) -> None:
    """Write the report as a bulk source does: in clear, on the report topic."""
    record = to_record(event, source="/tests/bulk-source")
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", **operator_options())
    await producer.start()
    try:
        await producer.send_and_wait(record.topic, record.value, key=record.key, headers=list(record.headers.items()))
    finally:
        await producer.stop()


async def test_a_bulk_report_in_clear_leaves_the_log_once_every_service_has_taken_it(
    services: RunningServices, endpoints: Endpoints, store: AsyncDatabase[Document]
) -> None:
    marker = uuid.uuid4().hex[:12]
    report = IncidentReport.model_validate(
        unique_body(**{"incident.description": f"Bulk feed {marker}: 'we weten waar je woont'"})
    )
    event = IncidentReported(case_id=new_id(), source=ReportSource.BULK, report=report)
    probe = TopicProbe(endpoints.kafka_bootstrap, [INCIDENT_REPORTED])
    await probe.start()
    try:
        await _feed(endpoints.kafka_bootstrap, event)
        (seen,) = await probe.wait_for(INCIDENT_REPORTED, event.case_id)
    finally:
        await probe.stop()
    assert marker.encode() in seen.value, "the bulk report is not in clear on the log: this test would prove nothing"

    async with httpx.AsyncClient(base_url=services.url("intake"), timeout=10) as client:

        async def taken_by_every_reader() -> bool:
            case = await client.get(f"/v1/cases/{event.case_id}", headers=ADMIN)
            assessed = await store["triage_assessments"].find_one({"_id": event.case_id})
            return case.status_code == 200 and bool(case.json().get("notifications")) and assessed is not None

        await until("the case opened, triaged and notified", taken_by_every_reader)

        async def gone_from_the_log() -> bool:
            records = await read_all(endpoints.kafka_bootstrap, list(HANDOFF_TOPICS))
            return not [r for r in records if marker.encode() in r.value]

        await until("the clear report trimmed from the hand-off topics", gone_from_the_log)

        # What the services keep of it is theirs (sealed): the case still holds the report.
        case = await client.get(f"/v1/cases/{event.case_id}", headers=ADMIN)
        assert case.status_code == 200, case.text
        assert marker in case.text
