"""The workflow on the case aggregate: close only when critical notifications were settled, reopen, assign, notes,
a human decision beside triage's recommendation; every change on the timeline and in the outbox, no free text
anywhere but its sealed field."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime

import pytest

from services.intake.codec import CaseCodec
from services.intake.domain import Case
from services.intake.errors import CaseConflict, NotAllowed
from services.intake.values import Actor, CaseStatus
from shared.contracts.events import (
    ErasureReason,
    FollowupKind,
    MeasureAuthority,
    NotificationState,
    NotificationStatus,
    RiskLevel,
)
from shared.contracts.topics import CASE_ASSESSED, CASE_FOLLOWUP, CASE_WORKFLOW, Recipient
from tests.intake.events import bulk_report, triaged
from tests.intake.fakes import CIPHER

NOW = datetime(2026, 11, 21, tzinfo=UTC)
POLICE = Actor(sub="agent-7", role="police", org="Politie Den Haag")
CRITICAL = frozenset({RiskLevel.CRITICAL})


def _case(level: RiskLevel = RiskLevel.CRITICAL) -> Case:
    case_id = uuid.uuid4().hex
    case = Case(case_id)
    case.take_report(bulk_report(case_id), now=NOW, links=[])
    case.record_triage(triaged(case_id, level=level, routes=(Recipient.POLICE, Recipient.OTWB)), now=NOW)
    return case


def _notified(case: Case, recipient: Recipient, state: NotificationState, level: RiskLevel) -> None:
    event = NotificationStatus(
        case_id=case.case_id, notification_id=f"n-{recipient.value}", recipient=recipient, status=state, level=level
    )
    case.record_notification(event, now=NOW)


def test_a_critical_case_closes_only_once_its_notifications_were_acknowledged_or_escalated() -> None:
    case = _case()
    _notified(case, Recipient.POLICE, NotificationState.SENT, RiskLevel.CRITICAL)
    _notified(case, Recipient.OTWB, NotificationState.SENT, RiskLevel.CRITICAL)
    with pytest.raises(CaseConflict, match="otwb, police"):
        case.close("handled", by=POLICE, now=NOW, ack_levels=CRITICAL)
    assert case.status is not CaseStatus.CLOSED
    _notified(case, Recipient.POLICE, NotificationState.ACKNOWLEDGED, RiskLevel.CRITICAL)
    _notified(case, Recipient.OTWB, NotificationState.ESCALATED, RiskLevel.CRITICAL)
    assert case.close("handled", by=POLICE, now=NOW, ack_levels=CRITICAL)
    assert case.closed
    assert case.closure is not None
    assert case.closure.at == NOW
    assert not case.close("again", by=POLICE, now=NOW, ack_levels=CRITICAL), "closing twice changes nothing"


def test_notifications_below_the_acknowledgement_levels_never_hold_a_case_open() -> None:
    case = _case(RiskLevel.MEDIUM)
    _notified(case, Recipient.POLICE, NotificationState.SENT, RiskLevel.MEDIUM)
    assert case.close("no threat", by=POLICE, now=NOW, ack_levels=CRITICAL)


def test_reopening_returns_the_case_to_where_it_was_and_a_new_report_reopens_it() -> None:
    case = _case(RiskLevel.MEDIUM)
    _notified(case, Recipient.POLICE, NotificationState.SENT, RiskLevel.MEDIUM)
    case.close("done", by=POLICE, now=NOW, ack_levels=CRITICAL)
    assert case.reopen("new facts", by=POLICE, now=NOW)
    assert case.status is CaseStatus.NOTIFIED
    assert case.closure is None
    assert not case.reopen("again", by=POLICE, now=NOW), "an open case is not reopened"

    case.close("done", by=POLICE, now=NOW, ack_levels=CRITICAL)
    case.take_report(bulk_report(case.case_id), now=NOW, links=[])
    assert case.status is CaseStatus.NOTIFIED
    assert [e.summary for e in case.timeline][-2] == "Reopened by a new report of the incident"


def test_a_closed_case_takes_no_assignment_and_no_decision_but_notes_still() -> None:
    case = _case(RiskLevel.LOW)
    case.close("done", by=POLICE, now=NOW, ack_levels=CRITICAL)
    with pytest.raises(CaseConflict):
        case.assign(Recipient.POLICE, "agent-9", by=POLICE, now=NOW)
    with pytest.raises(CaseConflict):
        case.decide_level(RiskLevel.HIGH, "x", by=POLICE, now=NOW)
    case.add_note("aftercare call planned", by=POLICE, now=NOW)


def test_a_human_decision_keeps_triages_recommendation_beside_it() -> None:
    case = _case(RiskLevel.MEDIUM)
    event = case.decide_level(RiskLevel.CRITICAL, "weapon seen at the house", by=POLICE, now=NOW)
    assert (event.level, event.recommended_level, event.decision_no) == (RiskLevel.CRITICAL, RiskLevel.MEDIUM, 1)
    routed = triaged(case.case_id, 2, RiskLevel.CRITICAL).model_copy(update={"trigger": "human"})
    case.record_triage(routed, now=NOW)
    assert case.risk is not None
    assert case.risk.level is RiskLevel.CRITICAL
    assert case.recommendation is not None
    assert case.recommendation.level is RiskLevel.MEDIUM
    assert case.decide_level(RiskLevel.HIGH, "calmer", by=POLICE, now=NOW).recommended_level is RiskLevel.MEDIUM


def test_workflow_events_carry_no_free_text_and_texts_are_sealed_at_rest() -> None:
    case = _case(RiskLevel.MEDIUM)
    secret = "belde mevrouw De Vries, aangifte gepland"
    case.assign(Recipient.POLICE, "agent-9", by=POLICE, now=NOW)
    case.add_note(secret, by=POLICE, now=NOW)
    case.decide_level(RiskLevel.HIGH, secret, by=POLICE, now=NOW)
    case.close(secret, by=POLICE, now=NOW, ack_levels=CRITICAL)
    topics = [out.record.topic for out in case.outbox]
    assert topics == [CASE_WORKFLOW, CASE_WORKFLOW, CASE_ASSESSED, CASE_WORKFLOW]
    assert all(secret.encode() not in out.record.value for out in case.outbox)
    assert all(secret not in entry.summary for entry in case.timeline)

    codec = CaseCodec(CIPHER)
    document = codec.to_document(case)
    assert secret not in json.dumps(document, default=str)
    back = codec.from_document({**document, "_id": case.case_id})
    assert codec.open_text(case.case_id, back.notes[0].text) == secret
    assert codec.open_text(case.case_id, back.decisions[0].reason) == secret
    assert back.closure is not None
    assert codec.open_text(case.case_id, back.closure.reason) == secret
    assert back.assignments[Recipient.POLICE].to == "agent-9"
    assert codec.to_document(back) == document, "a stored case comes back the same"


def test_erasure_drops_what_people_wrote() -> None:
    case = _case(RiskLevel.LOW)
    case.add_note("naam en adres", by=POLICE, now=NOW)
    case.erase(now=NOW, reason=ErasureReason.REQUEST)
    assert case.notes[0].text == ""


def test_each_party_records_its_own_follow_ups() -> None:
    case = _case(RiskLevel.HIGH)
    otwb = Actor(sub="duty-1", role="otwb", org="OTWB")
    case.add_followup(FollowupKind.OTWB_AFTERCARE, by=otwb, now=NOW)
    measure = case.add_followup(
        FollowupKind.PROTECTIVE_MEASURE,
        by=POLICE,
        now=NOW,
        authority=MeasureAuthority.BURGEMEESTER,
        measure="cameratoezicht woning",
        until=date(2027, 1, 31),
    )
    assert (measure.topic, measure.authority, measure.until) == (
        CASE_FOLLOWUP,
        MeasureAuthority.BURGEMEESTER,
        date(2027, 1, 31),
    )
    assert [f.kind for f in case.followups] == [FollowupKind.OTWB_AFTERCARE, FollowupKind.PROTECTIVE_MEASURE]
    assert case.status is CaseStatus.IN_FOLLOW_UP
    with pytest.raises(NotAllowed):
        case.add_followup(FollowupKind.CCV_SCAN_DONE, by=otwb, now=NOW)
    om = Actor(sub="om-1", role="om", org="OM")
    with pytest.raises(NotAllowed):
        case.add_followup(FollowupKind.PROTECTIVE_MEASURE, by=om, now=NOW, authority=MeasureAuthority.NCTV, measure="x")
    back = CaseCodec(CIPHER).from_document({**CaseCodec(CIPHER).to_document(case), "_id": case.case_id})
    assert back.followups == case.followups


def test_a_case_just_decided_critical_is_not_closed_before_its_notifications_come_back() -> None:
    case = _case(RiskLevel.MEDIUM)
    _notified(case, Recipient.POLICE, NotificationState.SENT, RiskLevel.MEDIUM)
    case.decide_level(RiskLevel.CRITICAL, "wapen", by=POLICE, now=NOW)
    with pytest.raises(CaseConflict, match="still being routed"):
        case.close("klaar", by=POLICE, now=NOW, ack_levels=CRITICAL)
    _notified(case, Recipient.POLICE, NotificationState.ACKNOWLEDGED, RiskLevel.CRITICAL)
    assert case.close("klaar", by=POLICE, now=NOW, ack_levels=CRITICAL)
