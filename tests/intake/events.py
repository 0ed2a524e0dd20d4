"""Events the case view receives, as the other services would send them (for tests and the command count)."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.contracts.events import (
    CaseFacts,
    CaseFollowup,
    CaseTriaged,
    Factor,
    FollowupKind,
    IncidentReported,
    NotificationState,
    NotificationStatus,
    ReportSource,
    RiskLevel,
    Route,
)
from shared.contracts.incident import IncidentReport
from shared.contracts.topics import Recipient
from tests.support.samples import unique_body


def triaged(
    case_id: str,
    number: int = 1,
    level: RiskLevel = RiskLevel.HIGH,
    *,
    routes: tuple[Recipient, ...] = (),
    event_id: str | None = None,
) -> CaseTriaged:
    report = IncidentReport.model_validate(unique_body())
    facts = CaseFacts(
        office_holder_ref="oh_test",
        role=report.office_holder.role,
        body_kind=report.office_holder.body.kind,
        body_code=report.office_holder.body.code,
        gender=report.office_holder.gender,
        types=tuple(report.incident.types),
        channel=report.incident.channel,
        occurred_at=report.incident.occurred_at,
        reported_at=datetime.now(UTC),
        impact_on_functioning=False,
        wants_aangifte=False,
    )
    extra = {"event_id": event_id} if event_id else {}
    return CaseTriaged(
        case_id=case_id,
        assessment_no=number,
        policy_version="test",
        level=level,
        score=float(number),
        factors=(Factor(code="test", weight=1, explanation="test"),),
        routes=tuple(Route(recipient=r, reason="test") for r in routes),
        facts=facts,
        **extra,
    )


def status(
    case_id: str, recipient: Recipient, state: NotificationState, *, notification_id: str | None = None
) -> NotificationStatus:
    return NotificationStatus(
        case_id=case_id,
        notification_id=notification_id or f"n-{case_id}-{recipient.value}",
        recipient=recipient,
        status=state,
        level=RiskLevel.HIGH,
    )


def followup(case_id: str) -> CaseFollowup:
    return CaseFollowup(case_id=case_id, kind=FollowupKind.AANGIFTE_REGISTERED, organisation="politie")


def bulk_report(case_id: str, **changes: object) -> IncidentReported:
    return IncidentReported(
        case_id=case_id, source=ReportSource.BULK, report=IncidentReport.model_validate(unique_body(**changes))
    )
