"""Versioned event models carried as JSON values on the topics."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import ClassVar, Literal
from uuid import uuid4

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.contracts import topics
from shared.contracts.aangifte import Aangifte
from shared.contracts.incident import (
    BodyKind,
    Channel,
    DirectedAt,
    Gender,
    IncidentReport,
    IncidentType,
    Platform,
    Role,
)
from shared.contracts.topics import Recipient


def new_id() -> str:
    """A fresh random identifier for events, cases and notifications."""
    return uuid4().hex


def utcnow() -> datetime:
    return datetime.now(UTC)


class Envelope(BaseModel):
    """Base of every record value: frozen, strict about unknown fields, explicitly versioned."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ce_type: ClassVar[str]
    topic: ClassVar[str]

    schema_version: Literal[1] = 1
    event_id: str = Field(default_factory=new_id, min_length=8, max_length=64)
    occurred: datetime = Field(default_factory=utcnow, description="When this event happened")

    def subject(self) -> str:
        """The record key and CloudEvents subject."""
        raise NotImplementedError

    def on_the_wire(self) -> Envelope:
        """What goes on the topic: the event itself, unless it holds something in clear only for this process."""
        return self


class Event(Envelope):
    """An event about one case; keyed by the case id so a case's events stay in order."""

    case_id: str = Field(min_length=8, max_length=64)

    def subject(self) -> str:
        return self.case_id


class ReportSource(StrEnum):
    HTTP = "http"
    BULK = "bulk"


class IncidentReported(Event):
    """A report was accepted; opens (or adds to) a case."""

    ce_type: ClassVar[str] = "nl.weerbaar.incident.reported.v1"
    topic: ClassVar[str] = topics.INCIDENT_REPORTED

    report_id: str = Field(default_factory=new_id, min_length=8, max_length=64)
    source: ReportSource = ReportSource.HTTP
    report: IncidentReport | None = Field(
        default=None,
        description="The report in clear: only from bulk or automated sources, whose producer holds no case key "
        "(exactly one of report and sealed_report)",
    )
    sealed_report: str | None = Field(
        default=None,
        pattern=r"^case:v1:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$",
        description="The report (JSON) sealed with its case's own key, AES-256-GCM with "
        "weerbaar/case/<case_id>/report/<report_id> as associated data: intake's reports. Erasing the case destroys "
        "the key, so every copy becomes unreadable (crypto-shredding; docs/security.md)",
    )
    linked_case_ids: tuple[str, ...] = Field(
        default=(), description="Earlier cases of the same office holder or the same known perpetrator"
    )

    @model_validator(mode="after")
    def _one_form(self) -> IncidentReported:
        if (self.report is None) == (self.sealed_report is None):
            raise ValueError("exactly one of report and sealed_report")
        return self

    @property
    def plain_report(self) -> IncidentReport:
        """The report in clear: as received, or opened with its case's key (``shared.security.case_keys``)."""
        if self.report is None:
            raise ReportSealed(f"report {self.report_id} of case {self.case_id} is sealed: open it first")
        return self.report

    def on_the_wire(self) -> IncidentReported:
        """A sealed report travels sealed only: the clear copy an opened event holds stays in this process."""
        if self.sealed_report is not None and self.report is not None:
            return self.model_copy(update={"report": None})
        return self


class ReportSealed(RuntimeError):
    """A sealed report was used before it was opened (a wiring mistake, never an input's fault)."""


class AcuteSignal(Event):
    """Heads-up: a possibly acute report for this case is being stored; routine work steps aside (internal).

    Sent before the case exists (its id may still change to an earlier case's when the incident was reported before),
    so it carries nothing but the id: the urgent record that follows is the work itself.
    """

    ce_type: ClassVar[str] = "nl.weerbaar.acute.signal.v1"
    topic: ClassVar[str] = topics.ACUTE_SIGNAL


class ErasureReason(StrEnum):
    REQUEST = "request"  # the data subject (or an admin on their behalf) asked for erasure
    RETENTION = "retention"  # the retention period of a closed case passed


class CaseErased(Event):
    """The personal data of a case was erased at intake; every service drops its own copy (non-personal facts stay)."""

    ce_type: ClassVar[str] = "nl.weerbaar.case.erased.v1"
    topic: ClassVar[str] = topics.CASE_ERASED

    reason: ErasureReason
    erased_at: datetime = Field(default_factory=utcnow)
    report_ids: tuple[str, ...] = Field(
        default=(),
        description="Only these reports were erased (a filer withdrew their own); empty: the whole case",
    )


def erased_office_holder_ref(case_id: str) -> str:
    """What stands for an erased case's office holder where a pseudonym was (triage, reporting): unique to the case,
    so it links the case to nobody, and a person's earlier cases no longer lead to it."""
    return f"erased-{case_id}"


class RiskLevel(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Factor(BaseModel):
    """One contribution to a risk score, with its explanation."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    code: str
    weight: float
    explanation: str
    matched: tuple[str, ...] = Field(
        default=(),
        description="What made the factor fire: triggers and text-rule ids (never the free text itself)",
    )


class Route(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    recipient: Recipient
    reason: str


class CaseFacts(BaseModel):
    """The non-personal facts of a case that reporting and routing need."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    office_holder_ref: str = Field(description="Keyed pseudonym of the office holder, never a name")
    role: Role
    body_kind: BodyKind
    body_code: str
    gender: Gender
    types: tuple[IncidentType, ...]
    channel: Channel
    occurred_at: datetime
    reported_at: datetime
    impact_on_functioning: bool
    wants_aangifte: bool
    burgemeester_municipality: str | None = Field(
        default=None,
        description="The municipality whose burgemeester is the local authority (shared/contracts/authority.py); "
        "None when not known (then no burgemeester is routed)",
    )
    directed_at: DirectedAt = DirectedAt.UNKNOWN
    platform: Platform | None = Field(default=None, description="Online incidents: the platform (fixed vocabulary)")


class CaseTriaged(Event):
    """Triage assessed a case and decided who must act."""

    ce_type: ClassVar[str] = "nl.weerbaar.case.triaged.v1"
    topic: ClassVar[str] = topics.CASE_TRIAGED

    assessment_no: int = Field(ge=1, description="1 for the first assessment, +1 per re-triage")
    policy_version: str
    level: RiskLevel
    score: float
    factors: tuple[Factor, ...]
    routes: tuple[Route, ...]
    facts: CaseFacts
    trigger: Literal["incident", "followup", "human"] = Field(
        default="incident",
        description="What caused this assessment: a (new) incident, a follow-up, or a human decision on the level",
    )
    previous_level: RiskLevel | None = Field(default=None, description="The level before this re-assessment")
    level_held: bool = Field(default=False, description="The computed level was lower; the previous one was kept")

    @property
    def of_erased_case(self) -> bool:
        """Triage's copy of an erased case's latest decision, published again without the pseudonym so compaction
        drops the earlier ones: the same event id as the decision it copies, nothing new to act on."""
        return self.facts.office_holder_ref == erased_office_holder_ref(self.case_id)


class NotificationState(StrEnum):
    SENT = "sent"
    ACKNOWLEDGED = "acknowledged"
    ESCALATED = "escalated"
    FAILED = "failed"
    FOLLOWUP_OVERDUE = "followup_overdue"


class NotificationStatus(Event):
    ce_type: ClassVar[str] = "nl.weerbaar.notification.status.v1"
    topic: ClassVar[str] = topics.NOTIFICATION_STATUS

    notification_id: str
    recipient: Recipient
    status: NotificationState
    level: RiskLevel
    detail: str = ""


class NotificationAck(Event):
    ce_type: ClassVar[str] = "nl.weerbaar.notification.ack.v1"
    topic: ClassVar[str] = topics.NOTIFICATION_ACK
    """The operator's topic; a recipient writes its own (``topics.ack_topic``; ``to_record(ack, topic=...)``)."""

    notification_id: str
    recipient: Recipient
    acknowledged_by: str = Field(max_length=200, description="Organisation or desk, not a person's name")
    municipality: str | None = Field(
        default=None,
        pattern=r"^GM\d{4}$",
        description="A burgemeester's acknowledgement: the municipality it is for (on a municipality's own topic, "
        "that municipality whether given or not; another one is refused)",
    )


class FollowupKind(StrEnum):
    # Police and OM: the aangifte and its prosecution.
    AANGIFTE_REGISTERED = "aangifte_registered"
    SUSPECT_IDENTIFIED = "suspect_identified"
    OM_DECISION = "om_decision"
    MEASURE_TAKEN = "measure_taken"
    # Support and protection (seed, questions 6 and 8).
    OTWB_AFTERCARE = "otwb_aftercare"
    CCV_SCAN_REQUESTED = "ccv_scan_requested"
    CCV_SCAN_DONE = "ccv_scan_done"
    PROTECTIVE_MEASURE = "protective_measure"


JUSTICE_FOLLOWUPS = frozenset(
    {
        FollowupKind.AANGIFTE_REGISTERED,
        FollowupKind.SUSPECT_IDENTIFIED,
        FollowupKind.OM_DECISION,
        FollowupKind.MEASURE_TAKEN,
    }
)
"""The follow-ups of police and OM: what the aangifte's follow-up clock waits for (support does not stop it)."""


class MeasureAuthority(StrEnum):
    """Who ordered a protective measure (Bewaken en Beveiligen: on the authority of OM, burgemeester or NCTV)."""

    OM = "om"
    BURGEMEESTER = "burgemeester"
    NCTV = "nctv"


class CaseFollowup(Event):
    ce_type: ClassVar[str] = "nl.weerbaar.case.followup.v1"
    topic: ClassVar[str] = topics.CASE_FOLLOWUP

    kind: FollowupKind
    organisation: str = Field(max_length=200)
    outcome: str = Field(default="", max_length=200, description="e.g. dagvaarding, strafbeschikking, sepot")
    authority: MeasureAuthority | None = Field(
        default=None, description="protective_measure: who ordered it (OM, burgemeester or NCTV)"
    )
    measure: str | None = Field(
        default=None, max_length=200, description="protective_measure: what (e.g. cameratoezicht woning); no names"
    )
    until: date | None = Field(default=None, description="protective_measure: until when (inclusive)")


class Notification(Event):
    """What one recipient receives; subclasses add what that recipient may see."""

    ce_type: ClassVar[str] = "nl.weerbaar.notify.v1"

    notification_id: str
    recipient: Recipient
    level: RiskLevel
    reasons: tuple[str, ...]
    policy_version: str
    resend_no: int = Field(default=0, ge=0, description="0 for the first sending, +1 per re-send without ack")


class PoliceNotification(Notification):
    """Police: what an aangifte and a risk check need, including identity and contact."""

    ce_type: ClassVar[str] = "nl.weerbaar.notify.police.v1"
    topic: ClassVar[str] = topics.notify_topic(Recipient.POLICE)

    office_holder_name: str
    office_holder_role: Role
    body_code: str
    contact_email: str | None
    contact_phone: str | None
    incident_types: tuple[IncidentType, ...]
    channel: Channel
    occurred_at: datetime
    description: str
    wants_aangifte: bool
    factors: tuple[Factor, ...]
    body_kind: BodyKind | None = None
    platform: str | None = None
    reported_at: datetime | None = None
    perpetrator: str | None = None
    circumstances: tuple[str, ...] = ()
    aangifte: Aangifte | None = Field(default=None, description="Pre-filled modelaangifte when one is wanted")


class ReportCell(BaseModel):
    """One cell of a report: counts, or ``suppressed`` and no figures when publishing them could identify someone."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    dims: dict[str, str]
    incidents: int | None
    affected_office_holders: int | None
    suppressed: bool = False
    share_affected: float | None = Field(
        default=None, description="Affected office holders / population of the cell's role (and gender), if known"
    )
    minutes_to_notification_p50: float | None = None
    minutes_to_notification_p90: float | None = None
    minutes_to_acknowledgement_p50: float | None = None
    minutes_to_acknowledgement_p90: float | None = None


class ReportStats(Envelope):
    """One cell of a report, keyed by its dimensions (compacted topic)."""

    ce_type: ClassVar[str] = "nl.weerbaar.report.stats.v1"
    topic: ClassVar[str] = topics.REPORT_STATS

    cell_key: str
    cell: ReportCell
    breakdown: tuple[str, ...] = Field(default=(), description="The dimensions of the table this cell belongs to")
    threshold: int | None = Field(default=None, description="The disclosure threshold the cell was published under")

    def subject(self) -> str:
        return self.cell_key


CASE_EVENTS: tuple[type[Event], ...] = (
    IncidentReported,
    CaseTriaged,
    NotificationStatus,
    NotificationAck,
    CaseFollowup,
    PoliceNotification,
)


class AuditAnchored(Envelope):
    """The audit chain's head at one moment, kept outside the database (append-only topic, never compacted).

    ``mac`` is an HMAC with the audit key over log, seq and hash: an anchor cannot be forged without the key, and a
    chain rewritten in the database no longer matches the anchors written before.
    """

    ce_type: ClassVar[str] = "nl.weerbaar.audit.anchored.v1"
    topic: ClassVar[str] = topics.AUDIT_ANCHORS

    log: str = Field(min_length=1, max_length=64, description="The database whose audit collection is anchored")
    seq: int = Field(ge=1, description="The newest entry's number")
    hash: str = Field(pattern=r"^[0-9a-f]{64}$", description="The newest entry's keyed hash")
    mac: str = Field(pattern=r"^[0-9a-f]{64}$")
    service: str = Field(max_length=40, description="The service that anchored it")

    def subject(self) -> str:
        return self.log
