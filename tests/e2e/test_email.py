"""E-mail on the real stack, received by a real SMTP server that requires STARTTLS (tests/support/mailbox.py):
a burgemeester office that runs no consumer gets its notification by e-mail and acknowledges it with the link in
it; an office holder who consented at intake hears of each change of the case's stage (a link to their own case
view, no case content), one who did not hears nothing."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from typing import Any

import httpx
import pytest
from pymongo.asynchronous.database import AsyncDatabase

from shared.contracts.topics import CASE_STAGE
from shared.store.mongo import Document
from tests.conftest import MAYOR_OFFICE, MAYOR_OFFICE_MUNICIPALITY
from tests.support.auth import BearerAuth, headers
from tests.support.endpoints import Endpoints
from tests.support.mailbox import Mailbox, Received
from tests.support.probe import TopicProbe
from tests.support.samples import unique_body
from tests.support.services import RunningServices
from tests.support.waiting import until_read

pytestmark = pytest.mark.e2e


async def _mails(mailbox: Mailbox, address: str, case_id: str, *, count: int, timeout: float = 60) -> list[Received]:
    deadline = time.monotonic() + timeout
    while True:
        found = [m for m in mailbox.to(address) if case_id in m.body]
        if len(found) >= count:
            return found
        assert time.monotonic() < deadline, f"{len(found)} of {count} e-mail(s) about {case_id} to {address}"
        await asyncio.sleep(0.1)


async def test_a_burgemeester_office_gets_its_notification_by_email_and_acknowledges_it_with_the_link(
    services: RunningServices, mailbox: Mailbox
) -> None:
    report = unique_body(**{"office_holder.body": {"kind": "gemeente", "code": MAYOR_OFFICE_MUNICIPALITY}})
    async with httpx.AsyncClient(base_url=services.url("intake"), timeout=15) as intake:
        created = await intake.post("/v1/incidents", json=report, headers=headers("reporter"))
        assert created.status_code == 201, created.text
        case_id = created.json()["case_id"]

    (received,) = await _mails(mailbox, MAYOR_OFFICE, case_id, count=1)
    assert received.tls, "STARTTLS was used"
    assert received.subject == "weerbaar: melding voor burgemeester, niveau high"
    for personal in (report["office_holder"]["name"], report["office_holder"]["contact"]["email"]):
        assert personal not in received.subject
        assert personal not in received.body
    assert report["incident"]["description"] not in received.body
    assert f"{services.url('intake')}/v1/cases/{case_id}" in received.body

    ack_url = re.search(r"POST (\S+/ack)", received.body)
    assert ack_url is not None, received.body
    mayor = BearerAuth("burgemeester", municipality=MAYOR_OFFICE_MUNICIPALITY)
    async with httpx.AsyncClient(timeout=15, auth=mayor) as office:
        acked = await office.post(ack_url.group(1), json={"acknowledged_by": "Gemeente, team OOV"})
        assert acked.status_code == 200, acked.text
        assert acked.json()["state"] == "acknowledged"
        state = (await office.get(ack_url.group(1).removesuffix("/ack"))).json()
    assert state["recipient"] == "burgemeester"
    assert [(e["state"], e["attempt"]) for e in state["emails"]] == [("delivered", 1)]


async def test_a_reporter_who_consented_hears_of_each_stage_by_email_and_one_who_did_not_hears_nothing(
    services: RunningServices, mailbox: Mailbox, endpoints: Endpoints, store: AsyncDatabase[Document]
) -> None:
    tag = uuid.uuid4().hex[:8]
    consenting, silent = f"melder-{tag}@example.nl", f"stil-{tag}@example.nl"
    intake_url = services.url("intake")
    filer = httpx.AsyncClient(base_url=intake_url, timeout=15, auth=BearerAuth("reporter", sub=f"melder-{tag}"))
    quiet_filer = httpx.AsyncClient(base_url=intake_url, timeout=15, auth=BearerAuth("reporter", sub=f"stil-{tag}"))
    police = httpx.AsyncClient(base_url=intake_url, timeout=15, auth=BearerAuth("police", org="Politie"))
    probe = TopicProbe(endpoints.kafka_bootstrap, [CASE_STAGE])
    await probe.start()
    try:
        async with filer, quiet_filer, police:
            wants = unique_body(**{"office_holder.contact": {"email": consenting}, "email_updates": True})
            created = await filer.post("/v1/incidents", json=wants)
            assert created.status_code == 201, created.text
            case_id = created.json()["case_id"]
            other = unique_body(**{"office_holder.contact": {"email": silent}})
            quiet = await quiet_filer.post("/v1/incidents", json=other)
            assert quiet.status_code == 201, quiet.text
            quiet_id = quiet.json()["case_id"]

            # Each change of stage is one event on the stream and one e-mail: received, …, police informed.
            await until_read(filer, f"/v1/cases/{case_id}", lambda c: c["guidance"]["stage"] == "police_informed")
            changes = await _until_stage(probe, case_id, "police_informed")
            assert changes[0]["stage"] == "received"
            await _mails(mailbox, consenting, case_id, count=len(changes))

            # The police close the case: one more e-mail.
            closed = await police.post(f"/v1/cases/{case_id}/close", json={"reason": "afgehandeld"})
            assert closed.status_code == 200, closed.text
            changes = await _until_stage(probe, case_id, "closed")
            mails = await _mails(mailbox, consenting, case_id, count=len(changes))
            assert len(mails) == len(changes), "one e-mail per change"

            # Minimised: the subject names no one; the body is the link to the filer's own case view.
            link = f"{intake_url}/reporter/cases/{case_id}"
            for received in mails:
                assert received.tls
                assert received.subject == "weerbaar: er is nieuws over uw melding"
                assert link in received.body
                for content in (wants["office_holder"]["name"], wants["incident"]["description"], "Afgesloten"):
                    assert content not in received.body
            page = await filer.get(link)
            assert page.status_code == 200, page.text
            assert "Afgesloten" in page.text

            # Without consent: the case went the same way, and nothing was written to its filer.
            await until_read(
                quiet_filer, f"/v1/cases/{quiet_id}", lambda c: c["guidance"]["stage"] == "police_informed"
            )
    finally:
        await probe.stop()
    assert not probe.all(CASE_STAGE, quiet_id), "no consent: no stage changes told"
    assert await store["notify_mails"].count_documents({"case_id": quiet_id}) == 0
    assert mailbox.to(silent) == []


async def _until_stage(probe: TopicProbe, case_id: str, stage: str, timeout: float = 60) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        seen = [s.json() for s in probe.all(CASE_STAGE, case_id)]
        if any(s["stage"] == stage for s in seen):
            return seen
        assert time.monotonic() < deadline, seen
        await probe.settle(0.2)
