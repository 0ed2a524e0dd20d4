"""The caller's queue: scoped like a case read, filtered, acute and overdue first, paged, kept by what is saved."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from services.intake.domain import Case
from services.intake.queue import CaseQueue, Filters
from services.intake.values import Actor, Filer
from shared.contracts.events import NotificationState, NotificationStatus, RiskLevel
from shared.contracts.topics import Recipient
from shared.web.auth import Principal, Role
from tests.intake.events import bulk_report, triaged
from tests.intake.fakes import Intake

NOW = datetime(2026, 11, 21, tzinfo=UTC)
POLICE = Principal(sub="agent-7", role=Role.POLICE, org="Politie Den Haag")


def _case(level: RiskLevel, *, routes: tuple[Recipient, ...] = (Recipient.POLICE,), minutes: int = 0) -> Case:
    case_id = uuid.uuid4().hex
    case = Case(case_id)
    case.take_report(bulk_report(case_id), now=NOW, links=[], filer=Filer(sub="filer-1", role="reporter"))
    case.record_triage(triaged(case_id, level=level, routes=routes), now=NOW + timedelta(minutes=minutes))
    return case


def _status(case: Case, recipient: Recipient, state: NotificationState) -> None:
    event = NotificationStatus(
        case_id=case.case_id,
        notification_id=f"n-{recipient.value}",
        recipient=recipient,
        status=state,
        level=case.risk.level if case.risk else RiskLevel.LOW,
    )
    case.record_notification(event, now=NOW)


def _ids(queue: CaseQueue, principal: Principal, **filters: object) -> list[str]:
    page = queue.page(principal, Filters(**filters), page=1, per_page=50)  # type: ignore[arg-type]
    return [item["case_id"] for item in page.items]


def test_only_cases_the_caller_may_read_are_listed() -> None:
    queue = CaseQueue()
    police_case, om_case = _case(RiskLevel.LOW), _case(RiskLevel.LOW, routes=(Recipient.OM,))
    queue.load([police_case, om_case])
    assert _ids(queue, POLICE) == [police_case.case_id]
    assert set(_ids(queue, Principal(sub="filer-1", role=Role.REPORTER))) == {police_case.case_id, om_case.case_id}
    assert _ids(queue, Principal(sub="someone-else", role=Role.REPORTER)) == []
    assert _ids(queue, Principal(sub="admin", role=Role.ADMIN)) == [], "an admin lists only with break-glass"


def test_acute_and_overdue_cases_come_first() -> None:
    queue = CaseQueue()
    low_new, medium, critical, overdue_low = (
        _case(RiskLevel.LOW, minutes=30),
        _case(RiskLevel.MEDIUM),
        _case(RiskLevel.CRITICAL),
        _case(RiskLevel.LOW),
    )
    _status(overdue_low, Recipient.POLICE, NotificationState.FOLLOWUP_OVERDUE)
    queue.load([low_new, medium, critical, overdue_low])
    assert _ids(queue, POLICE) == [c.case_id for c in (critical, overdue_low, medium, low_new)]


def test_filters_narrow_the_queue() -> None:
    queue = CaseQueue()
    mine, other, closed = _case(RiskLevel.HIGH), _case(RiskLevel.HIGH), _case(RiskLevel.LOW)
    mine.assign(Recipient.POLICE, "agent-7", by=Actor("chief", "police"), now=NOW)
    _status(other, Recipient.POLICE, NotificationState.ACKNOWLEDGED)
    _status(mine, Recipient.POLICE, NotificationState.SENT)
    closed.close("done", by=Actor("chief", "police"), now=NOW, ack_levels=())
    queue.load([mine, other, closed])
    assert _ids(queue, POLICE, assigned_to="me") == [mine.case_id]
    assert _ids(queue, POLICE, unacknowledged=True) == [mine.case_id]
    assert _ids(queue, POLICE, status="closed") == [closed.case_id]
    assert set(_ids(queue, POLICE, status="open")) == {mine.case_id, other.case_id}
    assert _ids(queue, POLICE, level=RiskLevel.LOW) == [closed.case_id]
    assert _ids(queue, POLICE, recipient=Recipient.OM) == []
    assert _ids(queue, POLICE, q=mine.case_id[:12]) == [mine.case_id]
    assert set(_ids(queue, POLICE, q="threat gm0344")) == {mine.case_id, other.case_id, closed.case_id}


def test_pages_follow_one_another() -> None:
    queue = CaseQueue()
    queue.load([_case(RiskLevel.LOW, minutes=i) for i in range(5)])
    first = queue.page(POLICE, Filters(), page=1, per_page=2)
    last = queue.page(POLICE, Filters(), page=3, per_page=2)
    assert (first.total, first.next_page, len(last.items), last.next_page) == (5, 2, 1, None)


async def test_the_queue_follows_every_case_the_service_saves() -> None:
    intake = Intake()
    queue = CaseQueue()
    intake.store.watchers.append(queue.put)
    case_id = uuid.uuid4().hex
    await intake.service.apply_events(case_id, [bulk_report(case_id)])
    await intake.service.apply_events(case_id, [triaged(case_id, routes=(Recipient.POLICE,))])
    assert _ids(queue, POLICE) == [case_id]
