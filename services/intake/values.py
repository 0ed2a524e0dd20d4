"""The parts of a case file: plain values the aggregate (``services/intake/domain.py``) is made of."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from shared.contracts.envelope import Record
from shared.contracts.events import (
    ErasureReason,
    Factor,
    FollowupKind,
    MeasureAuthority,
    NotificationState,
    ReportSource,
    RiskLevel,
    Route,
)
from shared.contracts.incident import (
    Body,
    Channel,
    Gender,
    IncidentReport,
    IncidentType,
    Indicators,
    ReporterKind,
    Role,
)
from shared.contracts.topics import Recipient


class CaseStatus(StrEnum):
    RECEIVED = "received"
    TRIAGED = "triaged"
    NOTIFIED = "notified"
    IN_FOLLOW_UP = "in_follow_up"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Filer:
    """Who filed a report over HTTP (kept until erasure)."""

    sub: str | None
    role: str | None = None
    org: str | None = None


@dataclass(frozen=True, slots=True)
class Link:
    case_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class Sealed:
    """A report as the store keeps it (encrypted for its case); only the store opens it."""

    blob: str


@dataclass(frozen=True, slots=True)
class ReportFacts:
    """What a report says that identifies no one: kept in clear for queries, reporting and after erasure."""

    reported_by: ReporterKind
    reporting_organisation: str | None
    office_holder_role: Role
    body: Body
    gender: Gender
    occurred_at: datetime
    types: tuple[IncidentType, ...]
    channel: Channel
    perpetrator: str
    indicators: Indicators
    impact_on_functioning: bool
    wants_aangifte: bool
    attachments: int
    email_updates: bool = False
    """The filer consented to e-mail about the case's stage (the address stays in the sealed report)."""

    @classmethod
    def of(cls, report: IncidentReport) -> ReportFacts:
        incident = report.incident
        return cls(
            reported_by=report.reported_by.kind,
            reporting_organisation=report.reported_by.organisation,
            office_holder_role=report.office_holder.role,
            body=report.office_holder.body,
            gender=report.office_holder.gender,
            occurred_at=incident.occurred_at,
            types=tuple(incident.types),
            channel=incident.channel,
            perpetrator=incident.perpetrator,
            indicators=incident.indicators,
            impact_on_functioning=incident.impact_on_functioning,
            wants_aangifte=report.wants_aangifte,
            attachments=len(report.attachments),
            email_updates=report.email_updates,
        )


@dataclass(slots=True)
class ReportEntry:
    """A report in the case file: the report itself (sealed at rest, gone once erased), its facts in clear."""

    report_id: str
    source: ReportSource
    received_at: datetime
    filed_by: Filer | None
    facts: ReportFacts
    content: IncidentReport | Sealed | None
    """The report as filed: new in this unit, or as stored; None once erased."""


@dataclass(frozen=True, slots=True)
class Risk:
    assessment_no: int
    level: RiskLevel
    score: float
    policy_version: str
    factors: tuple[Factor, ...]
    routes: tuple[Route, ...]


@dataclass(frozen=True, slots=True)
class Delivery:
    """The latest state of the notification to one recipient."""

    notification_id: str
    status: NotificationState
    level: RiskLevel
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Followup:
    kind: FollowupKind
    organisation: str
    outcome: str
    at: datetime
    authority: MeasureAuthority | None = None
    measure: str | None = None
    until: date | None = None


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    at: datetime
    event: str
    event_id: str
    summary: str
    source: str | None = None


@dataclass(frozen=True, slots=True)
class TimelineChunk:
    """Older timeline entries, moved out of the case document (numbered from 0, in order)."""

    number: int
    entries: tuple[TimelineEntry, ...]


@dataclass(frozen=True, slots=True)
class Outgoing:
    """An event the case caused, stored with it until it is known to be published."""

    event_id: str
    record: Record


@dataclass(frozen=True, slots=True)
class Erasure:
    at: datetime
    reason: ErasureReason


@dataclass(frozen=True, slots=True)
class Actor:
    """A person who acted on a case over HTTP: the token's subject, role and organisation."""

    sub: str
    role: str
    org: str | None = None

    def label(self) -> str:
        """Role and organisation, for the timeline (never the subject)."""
        return f"{self.role} ({self.org})" if self.org else self.role


Text = str | Sealed
"""Free text a person wrote (a note, a reason): new in this unit, or sealed as stored."""


@dataclass(frozen=True, slots=True)
class Assignment:
    """Who of the recipient's organisation handles its part of the case."""

    part: Recipient
    to: str
    by: Actor
    at: datetime


@dataclass(frozen=True, slots=True)
class Note:
    note_id: str
    by: Actor
    at: datetime
    text: Text


@dataclass(frozen=True, slots=True)
class HumanDecision:
    """A person's decision on the level, kept beside triage's recommendation."""

    decision_no: int
    level: RiskLevel
    recommended_level: RiskLevel | None
    reason: Text
    by: Actor
    at: datetime


@dataclass(frozen=True, slots=True)
class Closure:
    """Why and by whom the case was closed; retention counts from ``at``."""

    at: datetime
    by: Actor
    reason: Text
    status_before: CaseStatus
