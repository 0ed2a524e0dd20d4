"""Need-to-know on the real stack: a second filer joining someone else's case learns and erases nothing of it."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx
import pytest

from shared.contracts import topics
from shared.contracts.topics import Recipient, burgemeester_topic
from shared.web.need_to_know import CASE_FIELDS, REPORT_FIELDS, View
from tests.support.auth import headers
from tests.support.endpoints import Endpoints
from tests.support.probe import TopicProbe
from tests.support.samples import body
from tests.support.services import RunningServices

pytestmark = pytest.mark.e2e

BREAK_GLASS = {"X-Break-Glass-Reason": "need-to-know test: checking what stays"}


def _report(name: str, description: str, email: str) -> dict[str, Any]:
    return body(
        **{
            "office_holder.name": name,
            "office_holder.role": "wethouder",
            "office_holder.contact": {"email": email},
            "incident.description": description,
        }
    )


async def _admin_case(client: httpx.AsyncClient, case_id: str, until: Any) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        case: dict[str, Any] = (
            await client.get(f"/v1/cases/{case_id}", headers={**headers("admin"), **BREAK_GLASS})
        ).json()
        if until(case):
            return case
        assert time.monotonic() < deadline, case
        await asyncio.sleep(0.2)


async def test_a_second_filer_of_the_same_incident_sees_and_erases_only_its_own_report(
    services: RunningServices, endpoints: Endpoints
) -> None:
    name = f"Wethouder {uuid.uuid4().hex[:8]}"
    victim, attacker = f"victim-{uuid.uuid4().hex[:8]}", f"attacker-{uuid.uuid4().hex[:8]}"
    secret = f"De dreiger stond om 22:00 bij mijn huis ({uuid.uuid4().hex[:6]})"
    probe = TopicProbe(endpoints.kafka_bootstrap, [topics.CASE_ERASED])
    await probe.start()
    try:
        async with httpx.AsyncClient(base_url=services.url("intake"), timeout=10) as client:
            filed = await client.post(
                "/v1/incidents",
                json=_report(name, secret, "prive@example.nl"),
                headers=headers("reporter", sub=victim),
            )
            assert filed.status_code == 201, filed.text
            case_id = filed.json()["case_id"]
            await _admin_case(client, case_id, lambda c: c.get("risk") is not None)

            # The attacker knows the name, the municipality, the channel and the day: its report joins the case.
            probing = await client.post(
                "/v1/incidents",
                json=_report(name, "Ik wil weten of zij gemeld heeft", "attacker@example.nl"),
                headers=headers("reporter", sub=attacker),
            )
            assert probing.status_code == 201, probing.text
            answer = probing.json()
            assert answer["case_id"] == case_id, "reports of one incident still make one case"
            assert answer["merged_into_existing_case"] is False
            assert answer["status"] == "received"

            seen = await client.get(f"/v1/cases/{case_id}", headers=headers("reporter", sub=attacker))
            assert seen.status_code == 200, seen.text
            view = seen.json()
            assert view["view"] == "filer"
            assert [r["report_id"] for r in view["reports"]] == [answer["report_id"]]
            for leaked in (secret, "prive@example.nl", victim, "timeline", "risk", "notifications", "links"):
                assert leaked not in seen.text, f"the attacker learnt {leaked!r}"

            erased = await client.delete(f"/v1/cases/{case_id}", headers=headers("reporter", sub=attacker))
            assert erased.status_code == 204, erased.text
            again = await client.get(f"/v1/cases/{case_id}", headers=headers("reporter", sub=attacker))
            assert again.status_code == 403, "after erasing its report the attacker is no filer of the case"

            own = (await client.get(f"/v1/cases/{case_id}", headers=headers("reporter", sub=victim))).json()
            assert [r["report"]["incident"]["description"] for r in own["reports"]] == [secret]
            assert own["reports"][0]["erased"] is False
            whole = await _admin_case(client, case_id, lambda c: any(r["erased"] for r in c["reports"]))
            assert [r["erased"] for r in whole["reports"]] == [False, True]
            assert "erased" not in whole, "the case itself is not erased"
        (event,) = await probe.wait_for(topics.CASE_ERASED, case_id)
        assert event.json()["report_ids"] == [answer["report_id"]], "the others drop only the attacker's report"
    finally:
        await probe.stop()


async def test_every_role_reads_the_case_in_its_own_view_equal_to_its_contract(services: RunningServices) -> None:
    name, email = f"Burgemeester {uuid.uuid4().hex[:8]}", f"{uuid.uuid4().hex[:8]}@example.nl"
    description = f"Hij stond met een mes bij ons huis ({uuid.uuid4().hex[:6]})"
    report = body(
        **{
            "office_holder.name": name,
            "office_holder.role": "burgemeester",
            "office_holder.contact": {"email": email, "phone": "+31 6 1234 5678"},
            "incident.description": description,
            "incident.types": ["threat", "home_visit"],
            "incident.channel": "at_home",
            "incident.indicators": {"home_visited": True, "weapon_mentioned": True, "explicit_threat": True},
        }
    )
    filer = f"filer-{uuid.uuid4().hex[:8]}"
    claims: dict[str, dict[str, str]] = {
        "reporter": {"sub": filer},
        "burgemeester": {"municipality": "GM0344"},
    }
    routed = {"police", "om", "jenv", "burgemeester", "otwb", "ccv"}
    async with httpx.AsyncClient(base_url=services.url("intake"), timeout=10) as client:
        filed = await client.post("/v1/incidents", json=report, headers=headers("reporter", sub=filer))
        assert filed.status_code == 201, filed.text
        case_id = filed.json()["case_id"]
        await _admin_case(client, case_id, lambda c: routed <= set(c.get("notifications", {})))
        for role in ("reporter", *sorted(routed)):
            answer = await client.get(f"/v1/cases/{case_id}", headers=headers(role, **claims.get(role, {})))
            assert answer.status_code == 200, (role, answer.text)
            seen = answer.json()
            view = View.FILER if role == "reporter" else View(role)
            assert seen["view"] == view.value
            assert set(seen) == CASE_FIELDS[view], role
            (shown,) = seen["reports"]
            if view is View.FILER:
                assert shown["report"]["office_holder"]["name"] == name
                continue
            assert set(shown) == REPORT_FIELDS[view], role
            recipient = Recipient(role)
            assert seen["notification"]["status"] in {"sent", "acknowledged", "escalated"}
            text = answer.text
            assert (name in text) is (recipient in NAMED), role
            assert (email in text) is (recipient in CONTACTED), role
            assert (description in text) is (recipient is Recipient.POLICE), role
        bzk = await client.get(f"/v1/cases/{case_id}", headers=headers("bzk"))
        assert bzk.status_code == 403, "BZK reads aggregates and its own notification, never a case"


NAMED = {Recipient.POLICE, Recipient.BURGEMEESTER, Recipient.OTWB, Recipient.CCV}
CONTACTED = {Recipient.POLICE, Recipient.OTWB, Recipient.CCV}


def _critical(**changes: Any) -> dict[str, Any]:
    return body(
        **{
            "office_holder.name": f"Bestuurder {uuid.uuid4().hex[:8]}",
            "incident.types": ["threat", "home_visit"],
            "incident.channel": "at_home",
            "incident.indicators": {"home_visited": True, "weapon_mentioned": True, "explicit_threat": True},
            **changes,
        }
    )


async def _routed_to_burgemeester(client: httpx.AsyncClient, report: dict[str, Any]) -> tuple[str, str]:
    filed = await client.post("/v1/incidents", json=report, headers=headers("reporter"))
    assert filed.status_code == 201, filed.text
    case_id = filed.json()["case_id"]
    case = await _admin_case(client, case_id, lambda c: "burgemeester" in c.get("notifications", {}))
    return case_id, case["notifications"]["burgemeester"]["notification_id"]


async def test_a_burgemeester_reads_and_acknowledges_only_its_own_municipality(services: RunningServices) -> None:
    async with httpx.AsyncClient(base_url=services.url("intake"), timeout=10) as intake:
        case_id, nid = await _routed_to_burgemeester(intake, _critical())
        for claims in ({"municipality": "GM0363"}, {}):
            refused = await intake.get(f"/v1/cases/{case_id}", headers=headers("burgemeester", **claims))
            assert refused.status_code == 403, claims
        own = await intake.get(f"/v1/cases/{case_id}", headers=headers("burgemeester", municipality="GM0344"))
        assert own.status_code == 200
    ack = {"acknowledged_by": "Kabinet burgemeester"}
    async with httpx.AsyncClient(base_url=services.url("notify"), timeout=10) as notify:
        for claims in ({"municipality": "GM0363"}, {}):
            other = headers("burgemeester", **claims)
            assert (await notify.get(f"/v1/notifications/{nid}", headers=other)).status_code == 403, claims
            forged = await notify.post(f"/v1/notifications/{nid}/ack", json=ack, headers=other)
            assert forged.status_code == 403, claims
        mine = headers("burgemeester", municipality="GM0344")
        assert (await notify.get(f"/v1/notifications/{nid}", headers=mine)).status_code == 200
        acknowledged = await notify.post(f"/v1/notifications/{nid}/ack", json=ack, headers=mine)
        assert acknowledged.status_code == 200, acknowledged.text


async def test_a_provincie_case_goes_to_the_burgemeester_where_the_office_holder_lives_who_can_read_it(
    services: RunningServices, endpoints: Endpoints
) -> None:
    home = "GM0363"
    probe = TopicProbe(endpoints.kafka_bootstrap, [burgemeester_topic(home)])
    await probe.start()
    try:
        statenlid = _critical(
            **{
                "office_holder.role": "statenlid",
                "office_holder.body": {"kind": "provincie", "code": "PV26"},
                "office_holder.residence_municipality": home,
            }
        )
        async with httpx.AsyncClient(base_url=services.url("intake"), timeout=10) as intake:
            case_id, nid = await _routed_to_burgemeester(intake, statenlid)
            seen = await intake.get(f"/v1/cases/{case_id}", headers=headers("burgemeester", municipality=home))
            assert seen.status_code == 200, seen.text
            assert seen.json()["view"] == "burgemeester"
            elsewhere = await intake.get(f"/v1/cases/{case_id}", headers=headers("burgemeester", municipality="GM0344"))
            assert elsewhere.status_code == 403
        (delivered,) = await probe.wait_for(burgemeester_topic(home), case_id)
        assert delivered.json()["municipality"] == home
        assert delivered.json()["notification_id"] == nid
        async with httpx.AsyncClient(base_url=services.url("notify"), timeout=10) as notify:
            read = await notify.get(f"/v1/notifications/{nid}", headers=headers("burgemeester", municipality=home))
            assert read.status_code == 200, read.text
    finally:
        await probe.stop()


async def test_a_token_of_another_organisation_with_the_same_sub_reads_lists_and_erases_nothing(
    services: RunningServices,
) -> None:
    desk, griffie, elsewhere = f"desk-{uuid.uuid4().hex[:6]}", "Griffie Den Haag", "Griffie Utrecht"
    secret = f"Brief in de bus met mijn adres ({uuid.uuid4().hex[:6]})"
    report = {
        **_report(f"Raadslid {uuid.uuid4().hex[:8]}", secret, "raadslid@example.nl"),
        "reported_by": {"kind": "on_behalf", "organisation": griffie},
    }
    async with httpx.AsyncClient(base_url=services.url("intake"), timeout=10) as client:
        filed = await client.post("/v1/incidents", json=report, headers=headers("reporter", sub=desk, org=griffie))
        assert filed.status_code == 201, filed.text
        case_id = filed.json()["case_id"]
        own = await client.get(f"/v1/cases/{case_id}", headers=headers("reporter", sub=desk, org=griffie))
        assert own.status_code == 200, own.text
        assert secret in own.text
        # The same sub from another organisation's login (or without its organisation) is someone else.
        for claims in ({"org": elsewhere}, {}):
            namesake = headers("reporter", sub=desk, **claims)
            refused = await client.get(f"/v1/cases/{case_id}", headers=namesake)
            assert refused.status_code == 403, (claims, refused.text)
            assert secret not in refused.text
            listed = (await client.get("/v1/cases", headers=namesake)).json()
            assert case_id not in [i["case_id"] for i in listed["items"]], claims
            erasing = await client.delete(f"/v1/cases/{case_id}", headers=namesake)
            assert erasing.status_code == 403, (claims, erasing.text)
        still = await client.get(f"/v1/cases/{case_id}", headers=headers("reporter", sub=desk, org=griffie))
        assert still.status_code == 200
        assert secret in still.text, "nothing was erased"
        listed = (await client.get("/v1/cases", headers=headers("reporter", sub=desk, org=griffie))).json()
        assert case_id in [i["case_id"] for i in listed["items"]]
