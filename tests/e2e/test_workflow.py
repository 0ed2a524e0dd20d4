"""The workflow of the people who act, on the real broker and store, chained as they would use it:
queue → assign → note → a human decision upgrading the level (new notifications flowing) → close (refused until the
critical notifications were acknowledged) → reopen by a new report, with support and protection follow-ups on
the way and an explicit close and reopen."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pymongo.asynchronous.database import AsyncDatabase

from shared.contracts import topics
from shared.contracts.topics import Recipient, notify_topic
from shared.store.mongo import Document
from tests.support.auth import BearerAuth, headers
from tests.support.endpoints import Endpoints
from tests.support.probe import TopicProbe
from tests.support.samples import unique_body
from tests.support.services import RunningServices
from tests.support.waiting import until_read

pytestmark = pytest.mark.e2e

WATCHED = [
    topics.CASE_WORKFLOW,
    topics.CASE_ASSESSED,
    topics.CASE_TRIAGED,
    topics.CASE_FOLLOWUP,
    *(notify_topic(r) for r in Recipient),
]


@pytest.fixture
async def probe(endpoints: Endpoints) -> AsyncIterator[TopicProbe]:
    watcher = TopicProbe(endpoints.kafka_bootstrap, WATCHED)
    await watcher.start()
    yield watcher
    await watcher.stop()


def _levels(case: dict[str, Any]) -> set[str]:
    return {n["level"] for n in case["notifications"].values()}


async def test_queue_assign_note_override_followup_close_and_reopen_by_a_new_report(
    services: RunningServices, probe: TopicProbe, store: AsyncDatabase[Document]
) -> None:
    filer = f"test-reporter-{uuid.uuid4().hex[:8]}"
    agent = f"agent-{uuid.uuid4().hex[:8]}"
    report = unique_body()
    intake = services.url("intake")
    police = httpx.AsyncClient(base_url=intake, timeout=15, auth=BearerAuth("police", sub=agent, org="Politie"))
    reporter = httpx.AsyncClient(base_url=intake, timeout=15, auth=BearerAuth("reporter", sub=filer))
    # The whole case file (timeline, every notification): an admin with a break-glass reason.
    admin = httpx.AsyncClient(
        base_url=intake, timeout=15, auth=BearerAuth("admin"), headers={"X-Break-Glass-Reason": "workflow e2e test"}
    )
    async with police, reporter, admin:
        created = await reporter.post("/v1/incidents", json=report, headers={"Idempotency-Key": uuid.uuid4().hex})
        assert created.status_code == 201, created.text
        case_id = created.json()["case_id"]
        case = await until_read(admin, f"/v1/cases/{case_id}", lambda c: "police" in c["notifications"])
        assert case["risk"]["level"] == "high"
        routed_before = {r["recipient"] for r in case["risk"]["routes"]}
        assert "om" not in routed_before, "the contract body at high goes to police, not to the OM"

        # Queue: the police see it among their open cases; another reporter does not, BZK may not list at all.
        queue = await until_read(
            police,
            "/v1/cases?recipient=police&status=open&per_page=200",
            lambda q: case_id in [i["case_id"] for i in q["items"]],
        )
        item = next(i for i in queue["items"] if i["case_id"] == case_id)
        assert item["level"] == "high"
        assert "A. Voorbeeld" not in str(item)
        assert report["office_holder"]["name"] not in str(item)
        mine = (await reporter.get("/v1/cases")).json()
        assert [i["case_id"] for i in mine["items"]] == [case_id], "a reporter lists only their own reports"
        # The office holder's own view: where the case stands, what comes next, help that fits, the modelaangifte.
        own = (await reporter.get(f"/v1/cases/{case_id}")).json()
        assert (own["view"], own["guidance"]["stage"], own["guidance"]["label"]) == (
            "filer",
            "police_informed",
            "Politie geïnformeerd",
        )
        help_ids = [r["id"] for r in own["guidance"]["resources"]]
        assert {"otwb_hulplijn", "steunpakket_online_agressie", "stappenplan_melding_aangifte"} <= set(help_ids)
        aangifte = own["reports"][0]["modelaangifte"]
        assert aangifte["facts"] == report["incident"]["description"]
        assert "notes" not in own, "the working file is not the filer's"
        async with httpx.AsyncClient(base_url=intake, timeout=15) as anyone:
            others = await anyone.get("/v1/cases", headers=headers("reporter"))
            bzk = await anyone.get("/v1/cases", headers=headers("bzk"))
        assert case_id not in [i["case_id"] for i in others.json()["items"]]
        assert bzk.status_code == 403
        assert bzk.headers["content-type"] == "application/problem+json"

        # Assign the police part to the agent; "assigned to me" finds it.
        assigned = await police.post(f"/v1/cases/{case_id}/assign", json={"to": agent})
        assert assigned.status_code == 200, assigned.text
        assert (await police.post(f"/v1/cases/{case_id}/assign", json={"to": "x", "part": "om"})).status_code == 403
        (event,) = await probe.wait_for(topics.CASE_WORKFLOW, case_id)
        assert event.json()["action"] == "assigned"
        assert event.json()["assignee"] == agent
        assert [i["case_id"] for i in (await police.get("/v1/cases?assigned_to=me")).json()["items"]] == [case_id]

        # A note with author and time; its text is in the case file, never on a topic.
        text = f"Raadslid gebeld, aangifte gepland {uuid.uuid4().hex[:6]}"
        noted = await police.post(f"/v1/cases/{case_id}/notes", json={"text": text})
        assert noted.status_code == 201, noted.text
        await probe.wait_for(topics.CASE_WORKFLOW, case_id, count=2)
        assert all(text.encode() not in seen.value for seen in probe.all(topics.CASE_WORKFLOW, case_id))

        # The police decide: critical. Triage routes it (the OM and JenV are told now), the recommendation stays.
        decided = await police.post(
            f"/v1/cases/{case_id}/assessment", json={"level": "critical", "reason": "wapen gezien bij de woning"}
        )
        assert decided.status_code == 200, decided.text
        assert decided.json()["recommended_level"] == "high"
        (assessed,) = await probe.wait_for(topics.CASE_ASSESSED, case_id)
        assert assessed.json()["level"] == "critical"
        triaged = await probe.wait_for(topics.CASE_TRIAGED, case_id, count=2)
        routed = triaged[-1].json()
        assert (routed["trigger"], routed["level"]) == ("human", "critical")
        for recipient in (Recipient.OM, Recipient.JENV, Recipient.POLICE):
            await probe.wait_for(notify_topic(recipient), case_id, count=2 if recipient is Recipient.POLICE else 1)
        case = await until_read(admin, f"/v1/cases/{case_id}", lambda c: _levels(c) == {"critical"})
        assert case["risk"]["level"] == "critical"
        assert case["recommendation"]["level"] == "high"
        seen = (await police.get(f"/v1/cases/{case_id}")).json()  # the police view: the working file beside it
        assert (seen["view"], seen["level"], seen["recommended_level"]) == ("police", "critical", "high")
        assert seen["decisions"][0]["reason"] == "wapen gezien bij de woning"
        assert seen["notes"][0]["text"] == text
        assert seen["notes"][0]["by"]["role"] == "police"
        assert seen["assignments"]["police"]["to"] == agent
        summaries = [e["summary"] for e in case["timeline"]]
        assert any(s.startswith("police part assigned to") for s in summaries)
        assert "Note added by police (Politie)" in summaries
        assert any(s.startswith("Level decided by police (Politie): critical") for s in summaries)
        assert {r["recipient"] for r in case["risk"]["routes"]} >= routed_before, "nobody notified is dropped"

        # Support and protection: OTWB aftercare and a protective measure on the burgemeester's authority, on the
        # follow-up topic like a liaison's, in the case file, and counted by reporting (no who, what or until there).
        async with httpx.AsyncClient(base_url=intake, timeout=15, auth=BearerAuth("otwb", org="OTWB")) as otwb:
            aftercare = await otwb.post(f"/v1/cases/{case_id}/followups", json={"kind": "otwb_aftercare"})
        assert aftercare.status_code == 201, aftercare.text
        measure = {
            "kind": "protective_measure",
            "authority": "burgemeester",
            "measure": "cameratoezicht woning",
            "until": "2027-01-31",
        }
        protected = await police.post(f"/v1/cases/{case_id}/followups", json=measure)
        assert protected.status_code == 201, protected.text
        assert (await police.post(f"/v1/cases/{case_id}/followups", json={"kind": "ccv_scan_done"})).status_code == 403
        followups = await probe.wait_for(topics.CASE_FOLLOWUP, case_id, count=2)
        assert {f.json()["kind"] for f in followups} == {"otwb_aftercare", "protective_measure"}
        seen = await until_read(police, f"/v1/cases/{case_id}", lambda c: len(c["followups"]) == 2)
        assert seen["followups"][1]["authority"] == "burgemeester"
        assert seen["followups"][1]["until"] == "2027-01-31"
        deadline = time.monotonic() + 60
        while (fact := await store["reporting_facts"].find_one({"_id": case_id})) is None or len(
            fact.get("support", [])
        ) < 2:
            assert time.monotonic() < deadline, fact
            await asyncio.sleep(0.3)
        assert fact["support"] == ["otwb_aftercare", "protective_measure"]

        # Closing waits for the critical notifications: refused, then accepted once each was acknowledged.
        refused = await police.post(f"/v1/cases/{case_id}/close", json={"reason": "afgehandeld"})
        assert refused.status_code == 409, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        async with httpx.AsyncClient(base_url=services.url("notify"), timeout=15) as notify:
            for recipient, delivery in case["notifications"].items():
                acked = await notify.post(
                    f"/v1/notifications/{delivery['notification_id']}/ack",
                    json={"acknowledged_by": "test desk", "recipient": recipient},
                    headers={**headers("admin"), "X-Break-Glass-Reason": "test desk acknowledges for the liaisons"},
                )
                assert acked.status_code == 200, acked.text
        await until_read(
            admin,
            f"/v1/cases/{case_id}",
            lambda c: {n["status"] for n in c["notifications"].values()} == {"acknowledged"},
        )
        closed = await police.post(f"/v1/cases/{case_id}/close", json={"reason": "afgehandeld"})
        assert closed.status_code == 200, closed.text
        assert (closed.json()["status"], closed.json()["changed"]) == ("closed", True)
        again = await police.post(f"/v1/cases/{case_id}/close", json={"reason": "afgehandeld"})
        assert again.json()["changed"] is False
        assert (await police.post(f"/v1/cases/{case_id}/notes", json={"text": "nazorg"})).status_code == 201
        assert (await police.post(f"/v1/cases/{case_id}/assign", json={"to": agent})).status_code == 409
        assert (await reporter.get(f"/v1/cases/{case_id}")).json()["guidance"]["stage"] == "closed"
        listed = (await police.get("/v1/cases?status=closed&per_page=200")).json()
        assert case_id in [i["case_id"] for i in listed["items"]]

        # Reopen by hand and close again, then a new report of the same incident reopens the case by itself.
        reopened = await police.post(f"/v1/cases/{case_id}/reopen", json={"reason": "nieuwe informatie"})
        assert (reopened.status_code, reopened.json()["status"]) == (200, "in_follow_up")
        await police.post(f"/v1/cases/{case_id}/close", json={"reason": "afgehandeld"})
        again_report = await reporter.post("/v1/incidents", json=report, headers={"Idempotency-Key": uuid.uuid4().hex})
        assert again_report.json()["case_id"] == case_id
        case = await until_read(admin, f"/v1/cases/{case_id}", lambda c: c["status"] != "closed")
        assert "Reopened by a new report of the incident" in [e["summary"] for e in case["timeline"]]
        actions = [seen.json()["action"] for seen in await probe.wait_for(topics.CASE_WORKFLOW, case_id, count=7)]
        assert actions == ["assigned", "note_added", "closed", "note_added", "reopened", "closed", "reopened"]
