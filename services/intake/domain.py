"""The case file as an aggregate: pure methods that record what happened to a case (no I/O, no store syntax).

A ``Case`` is loaded once per unit of work, changed by the methods below and saved by the store with one write
(``services/intake/store.py``; only its codec knows the document). Every method is idempotent by event id: the
case remembers the ids it applied (the last ``APPLIED_KEPT``) and the reports it holds, so a redelivered event
changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum

from services.intake.values import (
    Actor,
    Assignment,
    CaseStatus,
    Closure,
    Delivery,
    Erasure,
    Filer,
    Followup,
    HumanDecision,
    Link,
    Note,
    Outgoing,
    ReportEntry,
    ReportFacts,
    Risk,
    TimelineChunk,
    TimelineEntry,
)
from services.intake.work import CaseWork
from shared.contracts.authority import burgemeester_municipality
from shared.contracts.envelope import to_record
from shared.contracts.events import (
    CaseErased,
    CaseFollowup,
    CaseTriaged,
    ErasureReason,
    Event,
    IncidentReported,
    NotificationStatus,
    ReportSource,
)
from shared.contracts.incident import IncidentReport
from shared.contracts.topics import Recipient
from shared.contracts.workflow import CaseStageChanged, ReporterStage

SOURCE = "/weerbaar/intake"
"""The CloudEvents source of what intake publishes."""

APPLIED_KEPT = 128
"""Event ids a case remembers. A duplicate reaches intake as a redelivery of a batch that was not committed, or as
a producer publishing an event again after a crash; either way it follows the original within a few of the case's
next events. A case sees some ten to twenty events in its life (a report or two, an assessment or two, a status per
recipient and state, follow-ups), so 128 covers the whole life of nearly every case. Beyond it the state changes
are idempotent by themselves (assessment number, notification id and rank, status only forward, first stage time);
only a line of the timeline could repeat."""

TIMELINE_KEPT = 64
"""Timeline entries kept in the case itself; beyond that the oldest ``TIMELINE_CHUNK`` move to a chunk stored beside
the case (the case document stays small however many status events a case gets)."""
TIMELINE_CHUNK = 32


_ORDER = list(CaseStatus)


def advance(current: str, target: CaseStatus) -> CaseStatus:
    """Status only moves forward; a late event never drags a case back."""
    now = CaseStatus(current)
    return target if _ORDER.index(target) > _ORDER.index(now) else now


class Outcome(StrEnum):
    OPENED = "opened"  # a new case
    ADDED = "added"  # a further report of an incident that already has a case
    REPEATED = "repeated"  # this very report was taken before (a retry or a redelivery)


# --- what a request says about itself -----------------------------------------------------------------------------


def body_fingerprint(report: IncidentReport) -> str:
    """Stable hash of a request body, to tell a retry from a different request under the same key."""
    canonical = json.dumps(report.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotency_id(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def dedup_key(office_holder_ref: str, report: IncidentReport) -> str:
    """Reports of one incident share it: same office holder, same channel, same day (UTC).

    The office holder and the griffie report the same threat with slightly different times and wording, so the key
    is deliberately coarse; two different incidents of one person on one day and channel become one case with two
    reports, which stays visible in the case file and loses nothing.
    """
    day = report.incident.occurred_at.astimezone(UTC).date().isoformat()
    return hashlib.sha256(f"{office_holder_ref}|{report.incident.channel.value}|{day}".encode()).hexdigest()


def report_event_id(report_id: str) -> str:
    """The event id of a report's IncidentReported: deterministic, so a retried request is deduplicated."""
    return hashlib.sha256(f"report|{report_id}".encode()).hexdigest()[:32]


_DELIVERY_RANK = {"failed": 0, "sent": 1, "escalated": 2, "acknowledged": 3}
"""A notification's states in order: a later state of the same notification is never overwritten by an earlier."""

_LINK_REASONS = {"oh": "same office holder", "pp": "same known perpetrator"}


def links_of(others: dict[str, list[str]]) -> list[Link]:
    """Links to the earlier cases found under each pseudonym key (``oh:…``, ``pp:…``), each case once."""
    seen: dict[str, Link] = {}
    for key, case_ids in others.items():
        for case_id in case_ids:
            seen.setdefault(case_id, Link(case_id, _LINK_REASONS[key.split(":", 1)[0]]))
    return list(seen.values())


# --- the aggregate ------------------------------------------------------------------------------------------------


@dataclass
class Case(CaseWork):
    """One incident's case file. A case not opened yet (no report) holds events that arrived before its report.

    The workflow of the people who act (assign, note, decide, close, reopen) is in ``services/intake/work.py``.
    """

    case_id: str
    status: CaseStatus = CaseStatus.RECEIVED
    created_at: datetime | None = None
    updated_at: datetime | None = None
    body_code: str | None = None
    municipality: str | None = None
    """Whose burgemeester is the case's local authority (``shared/contracts/authority.py``), from the first report."""
    filed_by_subs: list[str] = field(default_factory=list)
    filed_by_orgs: list[str] = field(default_factory=list)
    reports: list[ReportEntry] = field(default_factory=list)
    risk: Risk | None = None
    """The assessment in force: triage's latest decision (a human decision routed by triage included)."""
    recommendation: Risk | None = None
    """Triage's own latest recommendation (not a routed human decision), kept beside the human decisions."""
    notifications: dict[Recipient, Delivery] = field(default_factory=dict)
    followups: list[Followup] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    assignments: dict[Recipient, Assignment] = field(default_factory=dict)
    notes: list[Note] = field(default_factory=list)
    decisions: list[HumanDecision] = field(default_factory=list)
    closure: Closure | None = None
    stage_times: dict[str, datetime] = field(default_factory=dict)
    told_stage: str | None = None
    """The stage last told to the filers who consented to e-mail (``tell_reporters``)."""
    timeline: list[TimelineEntry] = field(default_factory=list)
    """The latest entries (at most ``TIMELINE_KEPT``); the older ones are in ``timeline_chunks`` chunks."""
    timeline_chunks: int = 0
    applied: list[str] = field(default_factory=list)
    outbox: list[Outgoing] = field(default_factory=list)
    erased: Erasure | None = None
    version: int = 0
    """As stored (kept by the store; shown in the case file)."""
    new_chunks: list[TimelineChunk] = field(default_factory=list)
    """Chunks moved out of the timeline in this unit, for the store to write before the case."""
    changed: bool = False
    """Whether this unit recorded anything (the case is saved then, and sheds what is known to be published)."""

    @property
    def opened(self) -> bool:
        """Whether a report opened the case (before that it only holds events that came early)."""
        return bool(self.reports)

    def applied_already(self, event_id: str) -> bool:
        return event_id in self.applied

    def has_report(self, report_id: str) -> bool:
        return any(entry.report_id == report_id for entry in self.reports)

    # --- reports --------------------------------------------------------------------------------------------------

    def take_report(
        self,
        event: IncidentReported,
        *,
        now: datetime,
        links: list[Link],
        filer: Filer | None = None,
        publish_on: tuple[str, ...] = (),
    ) -> Outcome:
        """Open the case with its first report, or add a further report; the same report again changes nothing.

        ``publish_on``: topics the report is published on from this case's outbox (reports taken over HTTP).
        """
        if self.has_report(event.report_id):
            return Outcome.REPEATED
        first = not self.opened
        self.reports.append(
            ReportEntry(
                report_id=event.report_id,
                source=event.source,
                received_at=event.occurred,
                filed_by=filer,
                facts=ReportFacts.of(event.plain_report),
                content=event.plain_report,
            )
        )
        self._add_filer(filer)
        known = {link.case_id for link in self.links}
        self.links.extend(link for link in links if link.case_id not in known and link.case_id != self.case_id)
        entry = TimelineEntry(
            at=event.occurred,
            event=type(event).__name__,
            event_id=event.event_id,
            summary=_report_summary(event, first=first),
            source=event.source.value if first else None,
        )
        if not first and self.closed:  # a new report of the incident reopens its case
            who = filer or Filer(sub=None)
            self.reopen(
                "new report", by=Actor(who.sub or "intake", who.role or "system", who.org), now=now, by_report=True
            )
        if first:
            self.created_at = now
            self.body_code = event.plain_report.office_holder.body.code
            self.municipality = burgemeester_municipality(event.plain_report)
            self.stage_times.setdefault("received", event.occurred)
            self._add_to_timeline(entry, first=True)  # events that came before the report follow it
        else:
            self._add_to_timeline(entry)
        self.outbox.extend(
            Outgoing(event.event_id, to_record(event, source=SOURCE, topic=topic)) for topic in publish_on
        )
        self._applied(event, now)
        return Outcome.OPENED if first else Outcome.ADDED

    def _add_filer(self, filer: Filer | None) -> None:
        if filer is not None and filer.sub and filer.sub not in self.filed_by_subs:
            self.filed_by_subs.append(filer.sub)
        if filer is not None and filer.org and filer.org not in self.filed_by_orgs:
            self.filed_by_orgs.append(filer.org)

    # --- what the other services report -------------------------------------------------------------------------

    def record_triage(self, event: CaseTriaged, *, now: datetime) -> bool:
        """A triage decision; an older assessment arriving late does not replace a newer one, and triage's copy of
        an erased case's decision (``of_erased_case``) adds nothing when the case has that assessment already."""
        known = self.risk is not None and event.assessment_no <= self.risk.assessment_no
        if self.applied_already(event.event_id) or (event.of_erased_case and known):
            return False
        self.status = advance(self.status, CaseStatus.TRIAGED)
        self.stage_times.setdefault("triaged", event.occurred)
        if self.risk is None or self.risk.assessment_no < event.assessment_no:
            self.risk = Risk(
                assessment_no=event.assessment_no,
                level=event.level,
                score=event.score,
                policy_version=event.policy_version,
                factors=event.factors,
                routes=event.routes,
            )
            if event.trigger != "human":
                self.recommendation = self.risk
        summary = f"Triaged: {event.level.value} (score {event.score:g}, policy {event.policy_version})"
        if event.trigger == "human":
            summary = f"Routed the decided level: {event.level.value} (policy {event.policy_version})"
        self._add_to_timeline(_entry(event, summary))
        self._applied(event, now)
        return True

    def record_notification(self, event: NotificationStatus, *, now: datetime) -> bool:
        """A notification's state; a late 'sent' never overwrites 'acknowledged' of the same notification."""
        if self.applied_already(event.event_id):
            return False
        self.status = advance(self.status, CaseStatus.NOTIFIED)
        current = self.notifications.get(event.recipient)
        if (
            current is None
            or current.notification_id != event.notification_id
            or _DELIVERY_RANK.get(event.status.value, 1) >= _DELIVERY_RANK.get(current.status.value, 1)
        ):
            self.notifications[event.recipient] = Delivery(
                notification_id=event.notification_id, status=event.status, level=event.level, updated_at=event.occurred
            )
        self.stage_times.setdefault("notified", event.occurred)
        self._add_to_timeline(_entry(event, f"Notification to {event.recipient.value}: {event.status.value}"))
        self._applied(event, now)
        return True

    def record_followup(self, event: CaseFollowup, *, now: datetime) -> bool:
        if self.applied_already(event.event_id):
            return False
        self.status = advance(self.status, CaseStatus.IN_FOLLOW_UP)
        self.followups.append(
            Followup(
                kind=event.kind,
                organisation=event.organisation,
                outcome=event.outcome,
                at=event.occurred,
                authority=event.authority,
                measure=event.measure,
                until=event.until,
            )
        )
        self.stage_times.setdefault("in_follow_up", event.occurred)
        self._add_to_timeline(_entry(event, f"Follow-up by {event.organisation}: {event.kind.value}"))
        self._applied(event, now)
        return True

    # --- erasure ----------------------------------------------------------------------------------------------------

    def filed_by(self, sub: str, org: str | None = None) -> list[ReportEntry]:
        """The reports ``sub`` of ``org`` filed (what a filer sees, withdraws or erases of the case): the same subject
        under another organisation claim is someone else (``CaseAccess.filed_by``)."""
        return [
            entry
            for entry in self.reports
            if entry.filed_by is not None and entry.filed_by.sub == sub and entry.filed_by.org == org
        ]

    def merged_for(self, sub: str | None, report_id: str, org: str | None = None) -> bool:
        """Whether to tell ``sub`` its report joined a case: only when it filed another report of the case itself.

        A filer whose report joined someone else's case learns nothing about that case (need-to-know).
        """
        return sub is not None and any(entry.report_id != report_id for entry in self.filed_by(sub, org))

    def erase_reports_of(
        self, sub: str, *, now: datetime, reason: ErasureReason, org: str | None = None
    ) -> CaseErased | None:
        """A filer erases the reports it filed; when those are all the case's reports, the whole case is erased.

        The other filers' reports stay as they are. None when the filer has nothing (left) to erase here.
        """
        own = [entry for entry in self.filed_by(sub, org) if entry.content is not None]
        if self.erased is not None or not own:
            return None
        if len(own) == len([entry for entry in self.reports if entry.content is not None]):
            return self.erase(now=now, reason=reason)
        event = CaseErased(
            case_id=self.case_id, reason=reason, erased_at=now, report_ids=tuple(e.report_id for e in own)
        )
        for entry in own:
            entry.content = None
            entry.filed_by = None
        self.filed_by_subs = list(dict.fromkeys(e.filed_by.sub for e in self.reports if e.filed_by and e.filed_by.sub))
        self.filed_by_orgs = list(
            dict.fromkeys(e.filed_by.org for e in self.reports if e.filed_by is not None and e.filed_by.org)
        )
        self._add_to_timeline(_entry(event, f"A filer erased {len(own)} report(s) ({reason.value})"))
        self.outbox.append(Outgoing(event.event_id, to_record(event, source=SOURCE)))
        self._applied(event, now)
        return event

    def erase(self, *, now: datetime, reason: ErasureReason) -> CaseErased | None:
        """Tombstone every report's personal data (the facts stay) and record the event; None if erased before."""
        if self.erased is not None:
            return None
        event = CaseErased(case_id=self.case_id, reason=reason, erased_at=now)
        self.erased = Erasure(at=now, reason=reason)
        for entry in self.reports:
            entry.content = None
            entry.filed_by = None
        self.filed_by_subs = []
        self.filed_by_orgs = []
        # What people wrote about the case may name people too: gone with the reports (who acted and when stays).
        self.notes = [replace(note, text="") for note in self.notes]
        self.decisions = [replace(decision, reason="") for decision in self.decisions]
        if self.closure is not None:
            self.closure = replace(self.closure, reason="")
        self._add_to_timeline(_entry(event, f"Personal data erased ({reason.value})"))
        self.outbox.append(Outgoing(event.event_id, to_record(event, source=SOURCE)))
        self._applied(event, now)
        return event

    # --- telling the filers who consented ---------------------------------------------------------------------------

    def tell_reporters(self, stage: ReporterStage, *, now: datetime) -> CaseStageChanged | None:
        """The stage the filers read changed: tell notify, which e-mails the filers who consented at intake (the
        event names their reports, never an address). Nothing when no filer consented or the stage was told."""
        consenting = tuple(e.report_id for e in self.reports if e.facts.email_updates and e.content is not None)
        if not consenting or self.erased is not None or self.told_stage == stage.value:
            return None
        event = CaseStageChanged(case_id=self.case_id, stage=stage, report_ids=consenting, occurred=now)
        self.told_stage = stage.value
        self.outbox.append(Outgoing(event.event_id, to_record(event, source=SOURCE)))
        self.updated_at = now
        self.changed = True
        return event

    # --- publishing -------------------------------------------------------------------------------------------------

    def published(self, event_ids: set[str]) -> bool:
        """Drop outgoing events known to be published; whether any was dropped."""
        kept = [out for out in self.outbox if out.event_id not in event_ids]
        dropped = len(kept) != len(self.outbox)
        self.outbox = kept
        return dropped

    # --- bookkeeping ------------------------------------------------------------------------------------------------

    def _applied(self, event: Event, now: datetime) -> None:
        self.applied.append(event.event_id)
        del self.applied[:-APPLIED_KEPT]
        self.updated_at = now
        self.changed = True

    def _add_to_timeline(self, entry: TimelineEntry, *, first: bool = False) -> None:
        if first:
            self.timeline.insert(0, entry)
        else:
            self.timeline.append(entry)
        if len(self.timeline) > TIMELINE_KEPT:
            moved, self.timeline = self.timeline[:TIMELINE_CHUNK], self.timeline[TIMELINE_CHUNK:]
            self.new_chunks.append(TimelineChunk(self.timeline_chunks, tuple(moved)))
            self.timeline_chunks += 1


def _entry(event: Event, summary: str) -> TimelineEntry:
    return TimelineEntry(at=event.occurred, event=type(event).__name__, event_id=event.event_id, summary=summary)


def _report_summary(event: IncidentReported, *, first: bool) -> str:
    reporter = event.plain_report.reported_by
    who = "office holder" if reporter.kind.value == "self" else f"on behalf ({reporter.organisation})"
    via = "" if event.source is ReportSource.HTTP else f" via {event.source.value}"
    return f"{'Report' if first else 'Further report of the same incident'} received from {who}{via}"
