"""Per-recipient notifications: each recipient gets only what its task needs (pure, no I/O)."""

from __future__ import annotations

import hashlib

from shared.contracts.events import CaseTriaged, Notification, PoliceNotification
from shared.contracts.incident import IncidentReport
from shared.contracts.topics import Recipient


def notification_id(case_id: str, recipient: Recipient, assessment_no: int) -> str:
    """Deterministic, so a redelivered decision yields the same notification, never a second one."""
    return hashlib.sha256(f"{case_id}|{recipient.value}|{assessment_no}".encode()).hexdigest()[:32]


def project(triaged: CaseTriaged, report: IncidentReport, recipient: Recipient, reason: str) -> Notification:
    """The notification for one recipient. Only the police projection carries identity and contact."""
    base = {
        "event_id": notification_id(triaged.case_id, recipient, triaged.assessment_no),
        "case_id": triaged.case_id,
        "notification_id": notification_id(triaged.case_id, recipient, triaged.assessment_no),
        "recipient": recipient,
        "level": triaged.level,
        "reasons": (reason,),
        "policy_version": triaged.policy_version,
    }
    if recipient is Recipient.POLICE:
        holder = report.office_holder
        return PoliceNotification(
            **base,
            office_holder_name=holder.name,
            office_holder_role=holder.role,
            body_code=holder.body.code,
            contact_email=holder.contact.email,
            contact_phone=holder.contact.phone,
            incident_types=tuple(report.incident.types),
            channel=report.incident.channel,
            occurred_at=report.incident.occurred_at,
            description=report.incident.description,
            wants_aangifte=report.wants_aangifte,
            factors=triaged.factors,
        )
    return Notification(**base)
