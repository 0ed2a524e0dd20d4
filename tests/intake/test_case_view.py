"""The case view's use cases on in-memory fakes: one load and one save per case per batch, redelivery, early events."""

from __future__ import annotations

import uuid

import pytest

from services.intake.errors import CaseNotFound
from services.intake.service import CaseEvent
from services.intake.values import CaseStatus
from shared.contracts.events import ErasureReason, NotificationState, RiskLevel
from shared.contracts.topics import Recipient
from tests.intake.events import bulk_report, followup, status, triaged
from tests.intake.fakes import Intake


def _case_id() -> str:
    return uuid.uuid4().hex


async def test_a_batch_of_events_on_one_case_is_applied_with_one_load_and_one_save() -> None:
    intake = Intake()
    case_id = _case_id()
    await intake.service.apply_events(case_id, [bulk_report(case_id)])
    intake.store.commands.clear()
    batch = [
        status(case_id, Recipient.POLICE, NotificationState.SENT),
        status(case_id, Recipient.OM, NotificationState.SENT),
        status(case_id, Recipient.POLICE, NotificationState.ACKNOWLEDGED),
    ]
    await intake.service.apply_events(case_id, batch)
    assert intake.store.commands == {"find": 1, "replace": 1}
    case = intake.store.stored(case_id)
    assert case.status is CaseStatus.NOTIFIED
    assert case.notifications[Recipient.POLICE].status is NotificationState.ACKNOWLEDGED
    assert [e.event_id for e in case.timeline[1:]] == [e.event_id for e in batch]


async def test_a_redelivered_batch_changes_nothing_and_writes_nothing() -> None:
    intake = Intake()
    case_id = _case_id()
    await intake.service.apply_events(case_id, [bulk_report(case_id)])
    batch: list[CaseEvent] = [
        triaged(case_id),
        status(case_id, Recipient.POLICE, NotificationState.SENT),
        followup(case_id),
    ]
    await intake.service.apply_events(case_id, batch)
    before = intake.store.documents[case_id]
    intake.store.commands.clear()
    await intake.service.apply_events(case_id, batch)  # the batch again, as after a crash before its commit
    for event in batch:  # and one by one, as the fallback path would take it
        await intake.service.apply_event(event)
    assert intake.store.commands["replace"] == 0
    assert intake.store.documents[case_id] == before
    assert len(intake.store.stored(case_id).followups) == 1


async def test_an_older_assessment_or_a_late_sent_never_replaces_what_came_after() -> None:
    intake = Intake()
    case_id = _case_id()
    await intake.service.apply_events(case_id, [bulk_report(case_id)])
    ack = status(case_id, Recipient.OM, NotificationState.ACKNOWLEDGED, notification_id="n-1")
    late_sent = status(case_id, Recipient.OM, NotificationState.SENT, notification_id="n-1")
    await intake.service.apply_events(case_id, [triaged(case_id, 2, RiskLevel.CRITICAL), ack])
    await intake.service.apply_events(case_id, [triaged(case_id, 1, RiskLevel.LOW), late_sent])
    case = intake.store.stored(case_id)
    assert case.risk is not None
    assert (case.risk.assessment_no, case.risk.level) == (2, RiskLevel.CRITICAL)
    assert case.notifications[Recipient.OM].status is NotificationState.ACKNOWLEDGED
    assert late_sent.event_id in [e.event_id for e in case.timeline], "the late event is on the timeline all the same"


async def test_events_before_their_report_wait_in_a_case_not_opened_yet_that_the_report_opens() -> None:
    intake = Intake()
    case_id = _case_id()
    decision = triaged(case_id, routes=(Recipient.POLICE,))
    await intake.service.apply_events(case_id, [decision, status(case_id, Recipient.POLICE, NotificationState.SENT)])
    waiting = await intake.store.get(case_id)
    assert waiting is not None
    assert not waiting.opened, "no report yet: the case file does not exist for readers"
    intake.store.commands.clear()
    report = bulk_report(case_id)
    await intake.service.apply_events(case_id, [report])
    assert intake.store.commands == {"find": 1, "link": 1, "replace": 1}, "no parked events to read or delete"
    case = intake.store.stored(case_id)
    assert case.opened
    assert case.status is CaseStatus.NOTIFIED, "what came early is kept"
    assert case.risk is not None
    assert case.timeline[0].summary.endswith("via bulk"), "the report comes first on the timeline"
    assert set(case.stage_times) == {"received", "triaged", "notified"}


async def test_a_case_not_opened_yet_cannot_be_erased() -> None:
    intake = Intake()
    case_id = _case_id()
    await intake.service.apply_event(triaged(case_id))
    with pytest.raises(CaseNotFound):
        await intake.service.erase(case_id, ErasureReason.REQUEST)


async def test_events_an_earlier_version_parked_are_applied_to_their_case_at_start() -> None:
    intake = Intake()
    opened, waiting = _case_id(), _case_id()
    await intake.service.apply_events(opened, [bulk_report(opened)])
    early = triaged(opened)
    intake.store.parked = {
        opened: [("CaseTriaged", early.model_dump_json())],
        waiting: [("NotificationStatus", status(waiting, Recipient.OM, NotificationState.SENT).model_dump_json())],
    }
    await intake.service.adopt_parked_events()
    assert intake.store.parked == {}
    assert intake.store.stored(opened).risk is not None
    assert not intake.store.stored(waiting).opened, "kept in the case until its report comes"
    assert Recipient.OM in intake.store.stored(waiting).notifications
