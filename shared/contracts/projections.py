"""What each recipient may see of a report: one explicit projection per notification contract (pure).

The notifications (notify) and the routed roles' case views (intake, ``shared/web/need_to_know.py``) both come from
here, so a recipient's fields are defined once: the fields of its model in ``shared/contracts/notifications.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.contracts import prefill
from shared.contracts.authority import burgemeester_municipality
from shared.contracts.events import Factor, Notification, PoliceNotification
from shared.contracts.incident import Channel, IncidentReport, IncidentType
from shared.contracts.notifications import (
    RECIPIENT_MODELS,
    BurgemeesterNotification,
    BzkNotification,
    CcvNotification,
    JenvNotification,
    OmNotification,
    OtwbNotification,
)
from shared.contracts.topics import Recipient

_ONLINE_CHANNELS = frozenset({Channel.ONLINE})
_DIGITAL_TYPES = frozenset({IncidentType.DOXING, IncidentType.ONLINE_HATE})


@dataclass(frozen=True, slots=True)
class Assessed:
    """What a projection needs besides the report: the assessment's factors and the report's non-personal facts."""

    factors: tuple[Factor, ...]
    office_holder_ref: str
    reported_at: datetime


CONTENT_FIELDS: dict[Recipient, frozenset[str]] = {
    recipient: frozenset(model.model_fields) - frozenset(Notification.model_fields)
    for recipient, model in RECIPIENT_MODELS.items()
}
"""Each recipient's own fields (its contract's fields beyond the envelope every notification has)."""


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


def _police(assessed: Assessed, report: IncidentReport, base: dict[str, Any]) -> Notification:
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
        reported_at=assessed.reported_at,
        description=report.incident.description,
        perpetrator=report.incident.perpetrator,
        circumstances=prefill.circumstances(report),
        wants_aangifte=report.wants_aangifte,
        factors=assessed.factors,
        aangifte=prefill.build(report, reported_at=assessed.reported_at) if report.wants_aangifte else None,
    )


def _om(assessed: Assessed, report: IncidentReport, base: dict[str, Any]) -> Notification:
    types = tuple(report.incident.types)
    return OmNotification(
        **base,
        office_holder_ref=assessed.office_holder_ref,
        office_holder_role=report.office_holder.role,
        body_kind=report.office_holder.body.kind,
        body_code=report.office_holder.body.code,
        incident_types=types,
        channel=report.incident.channel,
        platform=report.incident.platform,
        occurred_at=report.incident.occurred_at,
        reported_at=assessed.reported_at,
        perpetrator=report.incident.perpetrator,
        circumstances=prefill.circumstances(report),
        qualifications=prefill.qualifications(types),
        wants_aangifte=report.wants_aangifte,
        factors=assessed.factors,
    )


def _jenv(assessed: Assessed, report: IncidentReport, base: dict[str, Any]) -> Notification:
    return JenvNotification(
        **base,
        office_holder_ref=assessed.office_holder_ref,
        office_holder_role=report.office_holder.role,
        body_kind=report.office_holder.body.kind,
        body_code=report.office_holder.body.code,
        incident_types=tuple(report.incident.types),
        channel=report.incident.channel,
        occurred_at=report.incident.occurred_at,
        home_involved=home_involved(report),
        meeting_related=meeting_related(report),
        factors=assessed.factors,
    )


def _burgemeester(assessed: Assessed, report: IncidentReport, base: dict[str, Any]) -> Notification:
    return BurgemeesterNotification(
        **base,
        # triage routes no burgemeester whose municipality is unknown; a decision from before that rule: the body's
        municipality=burgemeester_municipality(report) or report.office_holder.body.code,
        office_holder_name=report.office_holder.name,
        office_holder_role=report.office_holder.role,
        body_kind=report.office_holder.body.kind,
        body_code=report.office_holder.body.code,
        incident_types=tuple(report.incident.types),
        channel=report.incident.channel,
        occurred_at=report.incident.occurred_at,
        home_involved=home_involved(report),
        meeting_related=meeting_related(report),
        factors=assessed.factors,
    )


def _bzk(assessed: Assessed, report: IncidentReport, base: dict[str, Any]) -> Notification:
    return BzkNotification(
        **base,
        office_holder_role=report.office_holder.role,
        body_kind=report.office_holder.body.kind,
        incident_types=tuple(report.incident.types),
        online=report.incident.channel in _ONLINE_CHANNELS,
        occurred_month=report.incident.occurred_at.strftime("%Y-%m"),
    )


def _otwb(assessed: Assessed, report: IncidentReport, base: dict[str, Any]) -> Notification:
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


def _ccv(assessed: Assessed, report: IncidentReport, base: dict[str, Any]) -> Notification:
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


_PROJECTIONS: dict[Recipient, Callable[[Assessed, IncidentReport, dict[str, Any]], Notification]] = {
    Recipient.POLICE: _police,
    Recipient.OM: _om,
    Recipient.JENV: _jenv,
    Recipient.BURGEMEESTER: _burgemeester,
    Recipient.BZK: _bzk,
    Recipient.OTWB: _otwb,
    Recipient.CCV: _ccv,
}


def notification(
    recipient: Recipient, report: IncidentReport, assessed: Assessed, base: dict[str, Any]
) -> Notification:
    """The notification for ``recipient``: ``base`` (the envelope fields) and what the recipient may see."""
    return _PROJECTIONS[recipient](assessed, report, base)
