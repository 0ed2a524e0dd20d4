"""Erasure on the real stack reaches every copy: the report read raw from the topic no longer opens, and no service's
store still yields the case's personal fields (crypto-shredding, and every service forgetting the case)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from pymongo.asynchronous.database import AsyncDatabase

from shared.contracts.events import IncidentReported, erased_office_holder_ref
from shared.contracts.incident import IncidentReport
from shared.contracts.topics import INCIDENT_REPORTED, INCIDENT_URGENT, Recipient, notify_topic
from shared.runtime.settings import CommonSettings
from shared.security.case_keys import CASE_KEYS, CaseKeys
from shared.security.crypto import PREFIX, DataCipher
from shared.security.pseudonym import office_holder_ref
from shared.store.mongo import Document
from tests.chaos.verify import read_all
from tests.support.auth import headers
from tests.support.endpoints import Endpoints
from tests.support.probe import TopicProbe
from tests.support.samples import body
from tests.support.services import RunningServices
from tests.support.waiting import until
from weerbaar.keys import sealed_fields

pytestmark = pytest.mark.e2e

ADMIN = {**headers("admin"), "X-Break-Glass-Reason": "erasure test: does the erasure reach every copy"}


async def _published(bootstrap: str, case_id: str) -> list[IncidentReported]:
    """The case's reports as a plain consumer with the test's credentials reads them from the topics now."""
    records = await read_all(bootstrap, [INCIDENT_REPORTED, INCIDENT_URGENT])
    return [IncidentReported.model_validate_json(r.value) for r in records if r.headers.get("ce_subject") == case_id]


def _copied(probe: TopicProbe, case_id: str) -> list[IncidentReported]:
    """The case's reports as somebody who copied the topics while they passed holds them (the hand-off topics keep
    a report only until every service has it: shared/messaging/handoff.py)."""
    return [
        IncidentReported.model_validate_json(seen.value)
        for topic in (INCIDENT_REPORTED, INCIDENT_URGENT)
        for seen in probe.all(topic, case_id)
    ]


async def _delivered(bootstrap: str, case_id: str) -> list[dict[str, Any]]:
    """What the recipients' topics (a gemeente's aside) carry of the case, read raw."""
    names = [notify_topic(r) for r in Recipient if r is not Recipient.BURGEMEESTER]
    return [json.loads(r.value) for r in await read_all(bootstrap, names) if r.headers.get("ce_subject") == case_id]


async def _everything(db: AsyncDatabase[Document]) -> dict[str, list[Document]]:
    return {name: await db[name].find({}).to_list(None) for name in await db.list_collection_names()}


def _opened_values(db_documents: dict[str, list[Document]], cipher: DataCipher) -> list[str]:
    """Every value a service declares sealed with the data key, opened (what an insider with the keys would read)."""
    opened = []
    for field in sealed_fields():
        for document in db_documents.get(field.collection, []):
            value = document.get(field.top)
            values = value if isinstance(value, list) else [value]
            for item in values:
                sealed = (
                    item.get(field.path.split("[].")[1]) if isinstance(item, dict) and "[]." in field.path else item
                )
                if isinstance(sealed, str) and sealed.startswith(PREFIX + ":"):
                    context = field.context.format(id=document["_id"])
                    opened.append(cipher.open(sealed, context=context).decode(errors="replace"))
    return opened


async def test_an_erased_cases_report_is_unreadable_on_the_topic_and_in_every_store(
    services: RunningServices, endpoints: Endpoints, store: AsyncDatabase[Document]
) -> None:
    marker = uuid.uuid4().hex[:10]
    sent = body(
        **{
            "office_holder.name": f"E. Rasmus-{marker}",
            "office_holder.contact": {"email": f"erase-{marker}@example.nl", "phone": "+31 6 1234 5678"},
            "incident.description": f"Dreigbericht {marker}: 'we weten waar je woont'",
        }
    )
    report = IncidentReport.model_validate(sent)
    settings = CommonSettings()
    cipher = DataCipher.from_settings(settings)
    pseudonym = office_holder_ref(report.office_holder, key=settings.pseudonym_secret)
    personal = [report.office_holder.name, f"erase-{marker}@example.nl", marker, pseudonym]

    copier = TopicProbe(endpoints.kafka_bootstrap, [INCIDENT_REPORTED, INCIDENT_URGENT])
    await copier.start()
    async with httpx.AsyncClient(base_url=services.url("intake"), timeout=10) as client:
        filer = headers("reporter", sub=f"rep-{uuid.uuid4().hex[:8]}")
        filed = await client.post("/v1/incidents", json=sent, headers=filer)
        assert filed.status_code == 201, filed.text
        case_id = filed.json()["case_id"]

        async def notified_and_counted() -> bool:
            case = (await client.get(f"/v1/cases/{case_id}", headers=ADMIN)).json()
            counted = await store["reporting_facts"].find_one({"_id": case_id})
            history = await store["triage_history"].find_one({"_id": pseudonym})
            return bool(case.get("notifications")) and counted is not None and history is not None

        await until("triaged, notified and counted", notified_and_counted, every_s=0.3)

        # The recipients' topics carry notices: nothing personal; the whole is read over HTTP, by its recipient.
        notices = await _delivered(endpoints.kafka_bootstrap, case_id)
        assert notices, "no notification on a recipient's topic"
        assert not [value for value in personal if value in json.dumps(notices)], "personal data on a recipient topic"
        notify = services.url("notify")
        reads = {n["details"]: headers(n["recipient"]) for n in notices if n.get("details")}
        assert reads, "no notice names where its notification is read"
        for path, caller in reads.items():
            whole = await client.get(notify + path, headers=caller)
            assert whole.status_code == 200, whole.text

        # Before: on the topic only in sealed form, and the key in the store opens it (so this test can fail).
        before = _copied(copier, case_id)
        await copier.stop()
        assert before, "the report was not on the topic"
        raw = "".join(event.model_dump_json() for event in before)
        assert all(event.report is None and event.sealed_report for event in before)
        assert not [value for value in personal[:3] if value in raw], "personal fields in clear on the topic"
        opened = await CaseKeys(store, cipher).opened(before)
        assert [event.plain_report for event in opened] == [report] * len(before)
        wrapped = (await store[CASE_KEYS].find_one({"_id": case_id}) or {})["key"]

        erased = await client.delete(f"/v1/cases/{case_id}", headers=ADMIN)
        assert erased.status_code == 204, erased.text

        async def forgotten_everywhere() -> bool:
            notify_case = await store["notify_cases"].find_one({"_id": case_id}) or {}
            counted = await store["reporting_facts"].find_one({"_id": case_id}) or {}
            assessment = await store["triage_assessments"].find_one({"_id": case_id}) or {}
            history = await store["triage_history"].find_one({"_id": pseudonym})
            return (
                bool(notify_case.get("erased"))
                and counted.get("office_holder_ref") == erased_office_holder_ref(case_id)
                and pseudonym not in json.dumps(assessment, default=str)
                and history is None
            )

        await until("every service forgot the case", forgotten_everywhere, every_s=0.3)
        for path, caller in reads.items():
            gone = await client.get(notify + path, headers=caller)
            assert gone.status_code == 410, f"{path}: {gone.status_code} {gone.text}"

    # After: the copies no longer open, nor whatever the log still holds of them (the hand-off topics may have let
    # them go already): the key is gone from the directory, and nowhere else.
    after = await _published(endpoints.kafka_bootstrap, case_id)
    assert all(event in before for event in after), "the log holds a record of the case that was never copied"
    assert await CaseKeys(store, cipher).opened([*before, *after]) == [], "an erased case's report still opens"
    tombstone = await store[CASE_KEYS].find_one({"_id": case_id})
    assert tombstone is not None
    assert "key" not in tombstone
    everything = await _everything(store)
    dumped = json.dumps(everything, default=str)
    assert wrapped not in dumped, "a copy of the case key is still in the store"
    # No store yields the personal fields: not in clear, and not in anything a service sealed with the data key.
    found = [value for value in personal if value in dumped]
    assert not found, f"personal fields still in the store: {found}"
    opened_now = _opened_values(everything, cipher)
    assert not [value for value in personal if any(value in text for text in opened_now)]
