"""The case aggregate and its codec: small documents, bounded bookkeeping, a stable round trip, sealed reports."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from services.intake.codec import CaseCodec
from services.intake.domain import APPLIED_KEPT, TIMELINE_KEPT, Case
from shared.contracts.events import NotificationState, erased_office_holder_ref
from shared.contracts.topics import Recipient
from tests.intake.events import bulk_report, status, triaged
from tests.intake.fakes import CIPHER, Intake

NOW = datetime(2026, 11, 21, tzinfo=UTC)


def _opened() -> Case:
    case_id = uuid.uuid4().hex
    case = Case(case_id)
    case.take_report(bulk_report(case_id), now=NOW, links=[])
    return case


def test_a_case_keeps_its_latest_timeline_and_moves_older_entries_to_chunks() -> None:
    case = _opened()
    for _ in range(200):
        case.record_notification(status(case.case_id, Recipient.POLICE, NotificationState.SENT), now=NOW)
        assert len(case.timeline) <= TIMELINE_KEPT
    entries = [e for chunk in case.new_chunks for e in chunk.entries] + case.timeline
    assert len(entries) == 201, "nothing lost"
    assert entries[0].summary.startswith("Report received")
    assert [chunk.number for chunk in case.new_chunks] == list(range(case.timeline_chunks))


def test_a_case_remembers_only_its_latest_event_ids() -> None:
    case = _opened()
    for _ in range(3 * APPLIED_KEPT):
        case.record_notification(status(case.case_id, Recipient.OM, NotificationState.ESCALATED), now=NOW)
    assert len(case.applied) == APPLIED_KEPT


def test_triage_s_copy_of_an_erased_case_s_decision_leaves_the_case_as_it_was() -> None:
    case = _opened()
    decided = triaged(case.case_id, routes=(Recipient.POLICE,))
    case.record_triage(decided, now=NOW)
    for _ in range(APPLIED_KEPT):  # the decision's id is no longer among the ids the case remembers
        case.record_notification(status(case.case_id, Recipient.OM, NotificationState.ESCALATED), now=NOW)
    entries = len(case.timeline) + sum(len(chunk.entries) for chunk in case.new_chunks)
    redacted = decided.facts.model_copy(update={"office_holder_ref": erased_office_holder_ref(case.case_id)})
    assert not case.record_triage(decided.model_copy(update={"facts": redacted}), now=NOW)
    assert len(case.timeline) + sum(len(chunk.entries) for chunk in case.new_chunks) == entries
    later = triaged(case.case_id, 2, routes=(Recipient.POLICE,))  # a re-assessment after the erasure: recorded
    assert case.record_triage(later.model_copy(update={"facts": redacted}), now=NOW)
    assert case.risk is not None
    assert case.risk.assessment_no == 2


async def test_the_whole_timeline_is_read_back_in_order() -> None:
    intake = Intake()
    case_id = uuid.uuid4().hex
    await intake.service.apply_events(case_id, [bulk_report(case_id)])
    sent = [status(case_id, Recipient.POLICE, NotificationState.SENT) for _ in range(150)]
    for start in range(0, len(sent), 40):
        await intake.service.apply_events(case_id, sent[start : start + 40])
    case = intake.store.stored(case_id)
    timeline = await intake.store.timeline(case)
    assert [e.event_id for e in timeline[1:]] == [e.event_id for e in sent]
    assert len(intake.store.documents[case_id]["timeline"]) <= TIMELINE_KEPT


def test_a_stored_case_comes_back_the_same_so_an_unchanged_case_is_not_written() -> None:
    codec = CaseCodec(CIPHER)
    case = _opened()
    case.record_triage(triaged(case.case_id, routes=(Recipient.POLICE,)), now=NOW)
    case.record_notification(status(case.case_id, Recipient.POLICE, NotificationState.SENT), now=NOW)
    stored = {**codec.to_document(case), "_id": case.case_id, "version": 3}
    again = codec.to_document(codec.from_document(stored))
    assert all(stored[k] == v for k, v in again.items())


def test_a_report_is_sealed_once_and_opens_for_its_own_case_only() -> None:
    codec = CaseCodec(CIPHER)
    case = _opened()
    document = codec.to_document(case)
    sealed = document["reports"][0]["sealed"]
    assert case.reports[0].content is not None
    assert "T. Test-" not in str(document), "no name in clear"
    loaded = codec.from_document({**document, "_id": case.case_id})
    assert codec.to_document(loaded)["reports"][0]["sealed"] == sealed, "not sealed again"
    opened = codec.open_report(case.case_id, loaded.reports[0].content)
    assert opened is not None
    assert opened["office_holder"]["name"].startswith("T. Test-")
