"""A report travels intake → triage → notify → reporting on the real broker and store."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from pymongo.asynchronous.database import AsyncDatabase

from services.reporting.facts import LOCAL
from services.reporting.periods import Calendar
from services.reporting.settings import Settings as ReportingSettings
from shared.contracts import topics
from shared.contracts.events import IncidentReported
from shared.contracts.topics import Recipient, notify_topic
from shared.runtime.settings import CommonSettings
from shared.security.case_keys import CaseKeys
from shared.security.crypto import DataCipher
from shared.store.mongo import Document
from tests.support.auth import DeskAuth, headers
from tests.support.endpoints import Endpoints
from tests.support.probe import TopicProbe, delivered_on
from tests.support.samples import unique_body
from tests.support.services import RunningServices

pytestmark = pytest.mark.e2e

WATCHED = [
    topics.INCIDENT_REPORTED,
    topics.CASE_TRIAGED,
    topics.NOTIFICATION_STATUS,
    topics.REPORT_STATS,
    *(delivered_on(r) for r in Recipient),
]


@pytest.fixture
async def probe(endpoints: Endpoints) -> AsyncIterator[TopicProbe]:
    watcher = TopicProbe(endpoints.kafka_bootstrap, WATCHED)
    await watcher.start()
    yield watcher
    await watcher.stop()


async def _wait_case(client: httpx.AsyncClient, case_id: str, status: str, *, notifications: int) -> Document:
    for _ in range(300):
        response = await client.get(f"/v1/cases/{case_id}")
        case: Document = response.json()
        if case.get("status") == status and len(case.get("notifications", {})) >= notifications:
            return case
        await asyncio.sleep(0.1)
    raise AssertionError(f"case {case_id} did not reach {status}: {case}")


async def _wait_fact(store: AsyncDatabase[Document], case_id: str) -> Document:
    for _ in range(300):
        fact = await store["reporting_facts"].find_one({"_id": case_id})
        if fact is not None:
            return fact
        await asyncio.sleep(0.1)
    raise AssertionError(f"reporting never counted case {case_id}")


async def test_reported_incident_is_triaged_notified_and_counted(
    services: RunningServices, probe: TopicProbe, store: AsyncDatabase[Document]
) -> None:
    async with httpx.AsyncClient(base_url=services.url("intake"), timeout=10, auth=DeskAuth()) as client:
        response = await client.post(
            "/v1/incidents", json=(report := unique_body()), headers={"Idempotency-Key": uuid.uuid4().hex}
        )
        assert response.status_code == 201, response.text
        case_id = response.json()["case_id"]
        assert response.json()["status"] == "received"

        (reported,) = await probe.wait_for(topics.INCIDENT_REPORTED, case_id)
        assert reported.headers["ce_type"] == "nl.weerbaar.incident.reported.v1"
        sealed = IncidentReported.model_validate_json(reported.value)
        assert sealed.report is None, "a report goes on the topic sealed with its case's key"
        assert report["office_holder"]["name"] not in reported.value.decode()
        (opened,) = await CaseKeys(store, DataCipher.from_settings(CommonSettings())).opened([sealed])
        assert opened.plain_report.office_holder.body.code == "GM0344"

        (triaged,) = await probe.wait_for(topics.CASE_TRIAGED, case_id)
        decision = triaged.json()
        assert decision["level"] == "high"
        assert {f["code"] for f in decision["factors"]} >= {"home_address_known"}
        name = report["office_holder"]["name"]
        assert name not in triaged.value.decode(), "the triage decision must not carry the name"
        routed = {r["recipient"] for r in decision["routes"]}
        assert {"police", "otwb", "bzk", "burgemeester", "ccv"} <= routed

        # at least once: a redelivery repeats the same event id, never a second notification
        police, *again = await probe.wait_for(notify_topic(Recipient.POLICE), case_id)
        assert {r.headers["ce_id"] for r in again} <= {police.headers["ce_id"]}
        assert name not in police.value.decode(), "the police topic carries a notice; the name is read over HTTP"
        async with httpx.AsyncClient(base_url=services.url("notify"), timeout=10) as notify:
            details = await notify.get(police.json()["details"], headers=headers("police"))
        assert details.json()["office_holder_name"] == name
        bzk, *again = await probe.wait_for(notify_topic(Recipient.BZK), case_id)
        assert {r.headers["ce_id"] for r in again} <= {bzk.headers["ce_id"]}
        assert name not in bzk.value.decode()
        assert "example.nl" not in bzk.value.decode()
        await probe.wait_for(topics.NOTIFICATION_STATUS, case_id, count=len(routed))

        case = await _wait_case(client, case_id, "notified", notifications=len(routed))
        assert case["risk"]["level"] == "high"
        assert case["notifications"]["police"]["status"] == "sent"
        summaries = [entry["summary"] for entry in case["timeline"]]
        assert summaries[0] == "Report received from office holder"
        assert any(s.startswith("Triaged: high") for s in summaries)
        assert set(case["stage_times"]) >= {"received", "triaged", "notified"}

    fact = await _wait_fact(store, case_id)  # reporting reads the same events as intake, at its own pace
    assert fact["level"] == "high"
    assert "name" not in str(fact)
    # Counted: reporting publishes the case's month once it is closed (docs/reporting.md), never while it is open.
    period = fact["occurred_at"].astimezone(LOCAL).strftime("%Y-%m")
    lag = ReportingSettings.model_fields["release_lag_days"].default  # the services run with the defaults
    published = Calendar.at(datetime.now(UTC), lag).month_closed(fact["occurred_at"])
    async with httpx.AsyncClient(base_url=services.url("reporting"), timeout=10, headers=headers("bzk")) as reports:
        response = await reports.get("/v1/reports/summary", params={"group_by": "period"})
    assert response.status_code == 200
    assert (period in [c["dims"]["period"] for c in response.json()["cells"]]) is published
