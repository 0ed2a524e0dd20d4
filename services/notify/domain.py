"""Per-recipient notifications: each recipient gets only what its task needs (pure, no I/O).

The table of who sees what lives in ``shared/contracts/notifications.py``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from services.notify import aangifte
from shared.contracts.events import (
    CaseTriaged,
    Notification,
    NotificationState,
    NotificationStatus,
    PoliceNotification,
    RiskLevel,
    utcnow,
)
from shared.contracts.incident import Channel, IncidentReport, IncidentType
from shared.contracts.notifications import (
    BurgemeesterNotification,
    BzkNotification,
    CcvNotification,
    EscalationNotice,
    JenvNotification,
    OmNotification,
    OtwbNotification,
)
from shared.contracts.topics import Recipient

_ONLINE_CHANNELS = frozenset({Channel.ONLINE})
_DIGITAL_TYPES = frozenset({IncidentType.DOXING, IncidentType.ONLINE_HATE})


def notification_id(case_id: str, recipient: Recipient, assessment_no: int) -> str:
    """Deterministic, so a redelivered decision yields the same notification, never a second one."""
    return hashlib.sha256(f"{case_id}|{recipient.value}|{assessment_no}".encode()).hexdigest()[:32]


def derived_id(*parts: object) -> str:
    """A deterministic event id for something derived from a notification (re-send, status, escalation)."""
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:32]


def home_involved(report: IncidentReport) -> bool:
    indicators = report.incident.indicators
    return (
        indicators.home_address_known
        or indicators.home_visited
        or report.incident.channel is Channel.AT_HOME
        or IncidentType.HOME_VISIT in report.incident.types
    )


def meeting_related(report: IncidentReport) -> bool:
    return report.incident.channel is Channel.AT_MEETING


def _police(triaged: CaseTriaged, report: IncidentReport, base: dict[str, Any]) -> Notification:
    holder = report.office_holder
    return PoliceNotification(
        **base,
        office_holder_name=holder.name,
        office_holder_role=holder.role,
        body_kind=holder.body.kind,
        body_code=holder.body.code,
        contact_email=holder.contact.email,
        contact_phone=holder.contact.phone,
        incident_types=tuple(report.incident.types),
        channel=report.incident.channel,
        platform=report.incident.platform,
        occurred_at=report.incident.occurred_at,
        reported_at=triaged.facts.reported_at,
        description=report.incident.description,
        perpetrator=report.incident.perpetrator,
        circumstances=aangifte.circumstances(report),
        wants_aangifte=report.wants_aangifte,
        factors=triaged.factors,
        aangifte=aangifte.build(report, reported_at=triaged.facts.reported_at) if report.wants_aangifte else None,
    )


def _om(triaged: CaseTriaged, report: IncidentReport, base: dict[str, Any]) -> Notification:
    types = tuple(report.incident.types)
    return OmNotification(
        **base,
        office_holder_ref=triaged.facts.office_holder_ref,
        office_holder_role=report.office_holder.role,
        body_kind=report.office_holder.body.kind,
        body_code=report.office_holder.body.code,
        incident_types=types,
        channel=report.incident.channel,
        platform=report.incident.platform,
        occurred_at=report.incident.occurred_at,
        reported_at=triaged.facts.reported_at,
        perpetrator=report.incident.perpetrator,
        circumstances=aangifte.circumstances(report),
        qualifications=aangifte.qualifications(types),
        wants_aangifte=report.wants_aangifte,
        factors=triaged.factors,
    )


def _jenv(triaged: CaseTriaged, report: IncidentReport, base: dict[str, Any]) -> Notification:
    return JenvNotification(
        **base,
        office_holder_ref=triaged.facts.office_holder_ref,
        office_holder_role=report.office_holder.role,
        body_kind=report.office_holder.body.kind,
        body_code=report.office_holder.body.code,
        incident_types=tuple(report.incident.types),
        channel=report.incident.channel,
        occurred_at=report.incident.occurred_at,
        home_involved=home_involved(report),
        meeting_related=meeting_related(report),
        factors=triaged.factors,
    )


def _burgemeester(triaged: CaseTriaged, report: IncidentReport, base: dict[str, Any]) -> Notification:
    return BurgemeesterNotification(
        **base,
        office_holder_name=report.office_holder.name,
        office_holder_role=report.office_holder.role,
        body_kind=report.office_holder.body.kind,
        body_code=report.office_holder.body.code,
        incident_types=tuple(report.incident.types),
        channel=report.incident.channel,
        occurred_at=report.incident.occurred_at,
        home_involved=home_involved(report),
        meeting_related=meeting_related(report),
        factors=triaged.factors,
    )


def _bzk(triaged: CaseTriaged, report: IncidentReport, base: dict[str, Any]) -> Notification:
    return BzkNotification(
        **base,
        office_holder_role=report.office_holder.role,
        body_kind=report.office_holder.body.kind,
        incident_types=tuple(report.incident.types),
        online=report.incident.channel in _ONLINE_CHANNELS,
        occurred_month=report.incident.occurred_at.strftime("%Y-%m"),
    )


def _otwb(triaged: CaseTriaged, report: IncidentReport, base: dict[str, Any]) -> Notification:
    holder = report.office_holder
    return OtwbNotification(
        **base,
        office_holder_name=holder.name,
        office_holder_role=holder.role,
        body_kind=holder.body.kind,
        body_code=holder.body.code,
        contact_email=holder.contact.email,
        contact_phone=holder.contact.phone,
        reported_by=report.reported_by.kind,
        reported_by_organisation=report.reported_by.organisation,
        incident_types=tuple(report.incident.types),
        channel=report.incident.channel,
        occurred_at=report.incident.occurred_at,
        impact_on_functioning=report.incident.impact_on_functioning,
        wants_aangifte=report.wants_aangifte,
    )


def _ccv(triaged: CaseTriaged, report: IncidentReport, base: dict[str, Any]) -> Notification:
    holder = report.office_holder
    return CcvNotification(
        **base,
        office_holder_name=holder.name,
        office_holder_role=holder.role,
        body_code=holder.body.code,
        contact_email=holder.contact.email,
        contact_phone=holder.contact.phone,
        home_involved=home_involved(report),
        home_visited=report.incident.indicators.home_visited,
        family_targeted=report.incident.indicators.family_targeted,
        digital_exposure=report.incident.channel in _ONLINE_CHANNELS
        or bool(_DIGITAL_TYPES & set(report.incident.types)),
    )


_PROJECTIONS = {
    Recipient.POLICE: _police,
    Recipient.OM: _om,
    Recipient.JENV: _jenv,
    Recipient.BURGEMEESTER: _burgemeester,
    Recipient.BZK: _bzk,
    Recipient.OTWB: _otwb,
    Recipient.CCV: _ccv,
}


def project(
    triaged: CaseTriaged, report: IncidentReport, recipient: Recipient, reason: str, *, at: datetime | None = None
) -> Notification:
    """The notification for one recipient, through that recipient's explicit projection.

    ``at``: when it was (first) sent; the same decision, report and time always give the same notification, so a
    redelivered decision re-publishes exactly what was sent.
    """
    nid = notification_id(triaged.case_id, recipient, triaged.assessment_no)
    base: dict[str, Any] = {
        "occurred": at if at is not None else utcnow(),
        "event_id": nid,
        "case_id": triaged.case_id,
        "notification_id": nid,
        "recipient": recipient,
        "level": triaged.level,
        "reasons": (reason,),
        "policy_version": triaged.policy_version,
    }
    return _PROJECTIONS[recipient](triaged, report, base)


def needs_ack(level: RiskLevel, escalate_levels: frozenset[RiskLevel]) -> bool:
    """Whether a notification at this level must be acknowledged in time or escalated."""
    return level in escalate_levels


def resent(notification: Notification, resend_no: int) -> Notification:
    """The same notification again: same notification id, a new event id, the re-send number."""
    return notification.model_copy(
        update={"resend_no": resend_no, "event_id": derived_id(notification.notification_id, "resend", resend_no)}
    )


ESCALATE_TO: tuple[Recipient, ...] = (Recipient.OTWB, Recipient.JENV)


def escalation_notices(
    silent: Notification, *, resend_no: int, first_sent_at: datetime, ack_timeout_s: float
) -> tuple[EscalationNotice, ...]:
    """Tell the OTWB duty officer and JenV that a recipient stayed silent (not the silent party itself)."""
    return tuple(
        EscalationNotice(
            event_id=derived_id(silent.notification_id, "escalation", target.value, resend_no),
            case_id=silent.case_id,
            notification_id=derived_id(silent.notification_id, "escalation", target.value),
            recipient=target,
            level=silent.level,
            reasons=(f"No acknowledgement from {silent.recipient.value} within {ack_timeout_s:g} s",),
            policy_version=silent.policy_version,
            resend_no=resend_no,
            escalated_notification_id=silent.notification_id,
            silent_recipient=silent.recipient,
            first_sent_at=first_sent_at,
            ack_timeout_s=ack_timeout_s,
        )
        for target in ESCALATE_TO
        if target is not silent.recipient
    )


class Addressed(Protocol):
    """What a status event names of its notification."""

    @property
    def notification_id(self) -> str: ...
    @property
    def case_id(self) -> str: ...
    @property
    def recipient(self) -> Recipient: ...
    @property
    def level(self) -> RiskLevel: ...


@dataclass(frozen=True, slots=True)
class Addressee:
    """A notification named by its identity alone (when its payload is not at hand)."""

    notification_id: str
    case_id: str
    recipient: Recipient
    level: RiskLevel


def status(
    notification: Addressed,
    state: NotificationState,
    *,
    detail: str = "",
    occurrence: object = "",
    at: datetime | None = None,
) -> NotificationStatus:
    """A status change of a notification; the event id is deterministic per notification, state and occurrence.

    ``at``: when the change happened, so a status derived again from stored state is the same event.
    """
    return NotificationStatus(
        occurred=at if at is not None else utcnow(),
        event_id=derived_id(notification.notification_id, state.value, occurrence),
        case_id=notification.case_id,
        notification_id=notification.notification_id,
        recipient=notification.recipient,
        status=state,
        level=notification.level,
        detail=detail,
    )
