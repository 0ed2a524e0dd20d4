"""Taking reports on in-memory fakes: what a report over HTTP costs, idempotency, the acute lane, publishing."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from services.intake.domain import Case, Outcome
from services.intake.errors import IdempotencyConflict
from services.intake.values import Filer
from shared.contracts.events import CaseErased, ErasureReason, IncidentReported, NotificationState
from shared.contracts.incident import IncidentReport
from shared.contracts.topics import ACUTE_SIGNAL, CASE_ERASED, INCIDENT_REPORTED, INCIDENT_URGENT, Recipient
from shared.runtime.errors import Unavailable
from tests.intake.events import bulk_report, status, triaged
from tests.intake.fakes import Intake
from tests.support.samples import unique_body

FILER = Filer(sub="desk-1", role="otwb", org="otwb")
ROUTINE = {"incident.indicators": {}, "incident.description": "Vervelend bericht"}


def _report(**changes: object) -> IncidentReport:
    return IncidentReport.model_validate(unique_body(**{**ROUTINE, **changes}))


async def test_a_new_incident_is_one_insert_and_its_report_is_published() -> None:
    intake = Intake()
    receipt = await intake.service.report_incident(_report(), uuid.uuid4().hex, FILER)
    assert receipt.outcome is Outcome.OPENED
    assert intake.store.commands == {"claim": 2, "link": 1, "insert": 1}, "no read of the case, no outbox update"
    assert intake.publisher.topics() == [INCIDENT_REPORTED]
    assert intake.store.stored(receipt.case_id).outbox, "the event stays in the case until its next save"


async def test_a_published_report_leaves_the_outbox_with_the_next_save_of_its_case() -> None:
    intake = Intake()
    receipt = await intake.service.report_incident(_report(), None, FILER)
    intake.store.commands.clear()
    await intake.service.apply_event(triaged(receipt.case_id))
    assert intake.store.commands == {"find": 1, "replace": 1}
    assert not intake.store.stored(receipt.case_id).outbox
    assert len(intake.store.published) == 0


async def test_a_case_not_saved_again_soon_sheds_its_published_report_with_a_save_of_its_own() -> None:
    intake = Intake(confirm_after_s=0.0)
    receipt = await intake.service.report_incident(_report(), None, FILER)
    await intake.deliveries.relay_once()
    assert not intake.store.stored(receipt.case_id).outbox
    assert intake.publisher.topics() == [INCIDENT_REPORTED], "nothing published twice"


async def test_a_report_taken_while_the_broker_is_down_is_published_by_the_relay() -> None:
    intake = Intake(confirm_after_s=0.0)
    intake.publisher.down = True
    receipt = await intake.service.report_incident(_report(), None, FILER)
    assert receipt.outcome is Outcome.OPENED, "accepted: the event is safe in the case"
    await intake.deliveries.relay_once()
    assert intake.store.stored(receipt.case_id).outbox
    intake.publisher.down = False
    await intake.deliveries.relay_once()
    await intake.deliveries.relay_once()
    assert intake.publisher.topics() == [INCIDENT_REPORTED]
    assert not intake.store.stored(receipt.case_id).outbox


async def test_what_a_crash_left_in_an_outbox_is_published_again_after_a_restart() -> None:
    before = Intake()
    receipt = await before.service.report_incident(_report(), None, FILER)
    after = Intake(confirm_after_s=0.0)
    after.store.documents = before.store.documents  # a new process, the same store
    await after.deliveries.relay_once()
    await after.deliveries.relay_once()
    assert after.publisher.topics() == [INCIDENT_REPORTED], "again (same event id): consumers dedupe"
    assert not after.store.stored(receipt.case_id).outbox


async def test_a_possibly_acute_report_sends_the_heads_up_and_the_urgent_copy_first() -> None:
    intake = Intake()
    acute = _report(**{"incident.indicators": {"home_visited": True}})
    await intake.service.report_incident(acute, None, FILER)
    await asyncio.sleep(0)  # the heads-up is sent by a task of its own, never waited for
    topics = intake.publisher.topics()
    assert ACUTE_SIGNAL in topics
    assert topics.index(INCIDENT_URGENT) < topics.index(INCIDENT_REPORTED)
    urgent, main = (r for r in intake.publisher.records if r.topic in (INCIDENT_URGENT, INCIDENT_REPORTED))
    assert urgent.headers["ce_id"] == main.headers["ce_id"], "one event on two lanes"


async def test_the_same_key_and_body_give_the_same_case_without_storing_or_publishing_again() -> None:
    intake = Intake()
    report, key = _report(), uuid.uuid4().hex
    first = await intake.service.report_incident(report, key, FILER)
    again = await intake.service.report_incident(report, key, FILER)
    assert (again.case_id, again.report_id, again.outcome) == (first.case_id, first.report_id, Outcome.REPEATED)
    assert len(intake.store.stored(first.case_id).reports) == 1
    assert intake.publisher.topics() == [INCIDENT_REPORTED]


async def test_the_same_key_with_another_body_is_a_conflict() -> None:
    intake = Intake()
    key = uuid.uuid4().hex
    await intake.service.report_incident(_report(), key, FILER)
    with pytest.raises(IdempotencyConflict):
        await intake.service.report_incident(_report(wants_aangifte=False), key, FILER)


async def test_a_further_report_of_the_same_incident_joins_its_case_and_links_later_incidents() -> None:
    intake = Intake()
    own = unique_body(**ROUTINE)
    griffie = {**own, "reported_by": {"kind": "on_behalf", "organisation": "griffie GM0344"}}
    later = {**own, "incident": {**own["incident"], "occurred_at": "2026-11-25T09:00:00+01:00"}}
    first = await intake.service.report_incident(IncidentReport.model_validate(own), None, FILER)
    second = await intake.service.report_incident(IncidentReport.model_validate(griffie), None, FILER)
    third = await intake.service.report_incident(IncidentReport.model_validate(later), None, FILER)
    assert (second.case_id, second.outcome) == (first.case_id, Outcome.ADDED)
    assert third.case_id != first.case_id
    case = intake.store.stored(third.case_id)
    assert [(link.case_id, link.reason) for link in case.links] == [(first.case_id, "same office holder")]
    assert intake.store.stored(first.case_id).timeline[-1].summary.startswith("Further report of the same incident")


async def test_intake_reading_its_own_report_back_from_the_stream_costs_nothing() -> None:
    intake = Intake()
    receipt = await intake.service.report_incident(_report(), None, FILER)
    (record,) = intake.publisher.records
    own = IncidentReported.model_validate_json(record.value)
    intake.store.commands.clear()
    await intake.service.apply_events(receipt.case_id, [own])
    assert intake.store.commands == {"find": 1}, "no link look-up and no write (the real store has it cached)"


async def test_a_bulk_report_redelivered_opens_its_case_once() -> None:
    intake = Intake()
    case_id = uuid.uuid4().hex
    report = bulk_report(case_id)
    await intake.service.apply_events(case_id, [report, report])
    await intake.service.take_stream_report(report)
    assert len(intake.store.stored(case_id).reports) == 1


async def test_erasure_tombstones_the_reports_tells_the_others_and_happens_once() -> None:
    intake = Intake()
    receipt = await intake.service.report_incident(_report(), uuid.uuid4().hex, FILER)
    await intake.service.apply_event(status(receipt.case_id, Recipient.POLICE, NotificationState.SENT))
    assert await intake.service.erase(receipt.case_id, ErasureReason.REQUEST)
    assert not await intake.service.erase(receipt.case_id, ErasureReason.REQUEST)
    case = intake.store.stored(receipt.case_id)
    assert all(entry.content is None and entry.filed_by is None for entry in case.reports)
    assert case.reports[0].facts.types, "the non-personal facts stay"
    assert case.filed_by_subs == []
    assert intake.publisher.topics().count(CASE_ERASED) == 1
    assert intake.store.claims == {}
    assert intake.store.incidents == {}


async def test_a_retry_after_a_request_that_stopped_before_storing_its_case_opens_that_case() -> None:
    intake = Intake()
    report, key = _report(), uuid.uuid4().hex
    insert = intake.store._insert

    async def store_down(case: Case) -> None:
        raise Unavailable("store went away")

    intake.store._insert = store_down  # type: ignore[method-assign] # the first request fails after its claims
    with pytest.raises(Unavailable):
        await intake.service.report_incident(report, key, FILER)
    intake.store._insert = insert  # type: ignore[method-assign]
    again = await intake.service.report_incident(report, key, FILER)
    assert again.outcome is Outcome.OPENED
    assert intake.store.stored(again.case_id).reports[0].report_id == again.report_id
    assert intake.publisher.topics() == [INCIDENT_REPORTED]


async def test_a_report_joining_another_filers_case_is_told_nothing_of_it() -> None:
    intake = Intake()
    own = unique_body(**ROUTINE)
    stranger = Filer(sub="reporter-2", role="reporter")
    first = await intake.service.report_incident(IncidentReport.model_validate(own), None, FILER)
    await intake.service.apply_event(triaged(first.case_id))
    joined = await intake.service.report_incident(IncidentReport.model_validate(own), None, stranger)
    again = await intake.service.report_incident(IncidentReport.model_validate(own), None, FILER)
    assert joined.case_id == first.case_id
    assert (joined.merged, joined.status) == (False, "received"), "no sign that the case existed"
    assert again.merged, "the filer's own earlier report of the case: it may know"


async def test_a_filer_erases_only_its_own_reports_and_the_last_filer_the_whole_case() -> None:
    intake = Intake()
    own = unique_body(**ROUTINE)
    stranger = Filer(sub="reporter-2", role="reporter")
    first = await intake.service.report_incident(IncidentReport.model_validate(own), None, FILER)
    await intake.service.report_incident(IncidentReport.model_validate(own), None, stranger)
    assert not await intake.service.erase(first.case_id, ErasureReason.REQUEST, filer="nobody")
    assert await intake.service.erase(first.case_id, ErasureReason.REQUEST, filer="reporter-2")
    case = intake.store.stored(first.case_id)
    assert [entry.content is None for entry in case.reports] == [False, True], "the first filer's report stays"
    assert case.filed_by_subs == ["desk-1"]
    assert case.erased is None
    (erased,) = [r for r in intake.publisher.records if r.topic == CASE_ERASED]
    assert CaseErased.model_validate_json(erased.value).report_ids == (case.reports[1].report_id,)
    assert intake.store.incidents, "the incident's claim stays for the remaining report"
    the_same_sub_elsewhere = await intake.service.erase(first.case_id, ErasureReason.REQUEST, filer="desk-1", org="GGD")
    assert not the_same_sub_elsewhere, "desk-1 of another organisation is someone else"
    assert await intake.service.erase(first.case_id, ErasureReason.REQUEST, filer="desk-1", org="otwb")
    assert intake.store.stored(first.case_id).erased is not None, "its last filer erased the whole case"


async def test_a_report_is_published_sealed_with_its_cases_key_which_erasure_destroys() -> None:
    intake = Intake()
    report = _report()
    receipt = await intake.service.report_incident(report, None, FILER)
    [record] = intake.publisher.records
    assert report.office_holder.name.encode() not in record.value
    published = IncidentReported.model_validate_json(record.value)
    assert published.report is None
    [opened] = await intake.keys.opened([published])
    assert opened.plain_report == report
    assert await intake.service.erase(receipt.case_id, ErasureReason.REQUEST)
    assert await intake.keys.opened([published]) == [], "unreadable once the case is erased"
