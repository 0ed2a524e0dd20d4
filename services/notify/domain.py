"""Per-recipient notifications: each recipient gets only what its task needs (pure, no I/O).

The table of who sees what lives in ``shared/contracts/notifications.py``; the projections in
``shared/contracts/projections.py`` (shared with the case views).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from shared.contracts import projections
from shared.contracts.events import (
    CaseTriaged,
    Notification,
    NotificationState,
    NotificationStatus,
    RiskLevel,
    utcnow,
)
from shared.contracts.incident import IncidentReport
from shared.contracts.notifications import EscalationNotice
from shared.contracts.projections import Assessed
from shared.contracts.topics import Recipient


def notification_id(case_id: str, recipient: Recipient, assessment_no: int) -> str:
    """Deterministic, so a redelivered decision yields the same notification, never a second one."""
    return hashlib.sha256(f"{case_id}|{recipient.value}|{assessment_no}".encode()).hexdigest()[:32]


def derived_id(*parts: object) -> str:
    """A deterministic event id for something derived from a notification (re-send, status, escalation)."""
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:32]


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
    assessed = Assessed(
        factors=triaged.factors,
        office_holder_ref=triaged.facts.office_holder_ref,
        reported_at=triaged.facts.reported_at,
    )
    return projections.notification(recipient, report, assessed, base)


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
    silent: Notification,
    *,
    resend_no: int,
    first_sent_at: datetime,
    ack_timeout_s: float,
    undelivered: tuple[str, str] | None = None,
) -> tuple[EscalationNotice, ...]:
    """Tell the OTWB duty officer and JenV that a recipient stayed silent (not the silent party itself), or, with
    ``undelivered`` (an e-mail's id and why), that its e-mail could not be delivered: someone must call."""
    reason = f"No acknowledgement from {silent.recipient.value} within {ack_timeout_s:g} s"
    occurrence: object = resend_no
    if undelivered is not None:
        occurrence = f"email:{undelivered[0]}"
        reason = f"E-mail to {silent.recipient.value} not delivered: {undelivered[1]}"
    return tuple(
        EscalationNotice(
            event_id=derived_id(silent.notification_id, "escalation", target.value, occurrence),
            case_id=silent.case_id,
            notification_id=derived_id(silent.notification_id, "escalation", target.value),
            recipient=target,
            level=silent.level,
            reasons=(reason,),
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
