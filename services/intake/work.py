"""What the people who act do with a case: assign, note, decide the level, close, reopen (pure; part of ``Case``).

Each method changes the case, adds a line to its timeline (no free text there: notes and reasons stay in their own
sealed fields) and puts the event it causes into the case's outbox, so the state change and its event are saved by
one write. Refusals are ``CaseConflict`` (HTTP 409) and say why.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime
from typing import TYPE_CHECKING

from services.intake.errors import CaseConflict, NotAllowed
from services.intake.values import (
    Actor,
    Assignment,
    CaseStatus,
    Closure,
    Delivery,
    HumanDecision,
    Note,
    Outgoing,
    Risk,
    TimelineEntry,
)
from shared.contracts.envelope import to_record
from shared.contracts.events import (
    CaseFollowup,
    Event,
    FollowupKind,
    MeasureAuthority,
    NotificationState,
    RiskLevel,
    new_id,
)
from shared.contracts.topics import Recipient
from shared.contracts.workflow import CaseAssessed, CaseWorkflow, WorkflowAction

SOURCE = "/weerbaar/intake"

FOLLOWUP_ROLES: dict[FollowupKind, frozenset[str]] = {
    FollowupKind.AANGIFTE_REGISTERED: frozenset({"police"}),
    FollowupKind.SUSPECT_IDENTIFIED: frozenset({"police"}),
    FollowupKind.OM_DECISION: frozenset({"om"}),
    FollowupKind.MEASURE_TAKEN: frozenset({"police", "om", "burgemeester"}),
    FollowupKind.OTWB_AFTERCARE: frozenset({"otwb"}),
    FollowupKind.CCV_SCAN_REQUESTED: frozenset({"otwb", "ccv"}),
    FollowupKind.CCV_SCAN_DONE: frozenset({"ccv"}),
    # Bewaken en Beveiligen: on the authority of OM, burgemeester or NCTV; the police carry out and record them.
    FollowupKind.PROTECTIVE_MEASURE: frozenset({"police", "om", "burgemeester"}),
}
"""Who records which follow-up over HTTP (each party its own)."""

SETTLED = frozenset({NotificationState.ACKNOWLEDGED, NotificationState.ESCALATED})
"""A notification that had to be acknowledged no longer holds a case open once it was acknowledged or escalated."""


class CaseWork:
    """The workflow half of ``services.intake.domain.Case`` (its fields are declared there)."""

    case_id: str
    status: CaseStatus
    risk: Risk | None
    recommendation: Risk | None
    notifications: dict[Recipient, Delivery]
    assignments: dict[Recipient, Assignment]
    notes: list[Note]
    decisions: list[HumanDecision]
    closure: Closure | None
    outbox: list[Outgoing]

    if TYPE_CHECKING:

        @property
        def opened(self) -> bool: ...

        def _applied(self, event: Event, now: datetime) -> None: ...

        def _add_to_timeline(self, entry: TimelineEntry, *, first: bool = False) -> None: ...

        def record_followup(self, event: CaseFollowup, *, now: datetime) -> bool: ...

    @property
    def closed(self) -> bool:
        return self.status is CaseStatus.CLOSED

    def assign(self, part: Recipient, to: str, *, by: Actor, now: datetime) -> CaseWorkflow:
        """Give ``part`` (a recipient's share of the case) to a person of that organisation."""
        self._must_be_open("assigned")
        self.assignments[part] = Assignment(part=part, to=to, by=by, at=now)
        event = self._workflow(WorkflowAction.ASSIGNED, by, now, part=part, assignee=to)
        self._record(event, now, f"{part.value} part assigned to {to} by {by.label()}")
        return event

    def add_note(self, text: str, *, by: Actor, now: datetime) -> Note:
        """A note with its author and time (notes may be added to a closed case: aftercare goes on)."""
        note = Note(note_id=new_id(), by=by, at=now, text=text)
        self.notes.append(note)
        event = self._workflow(WorkflowAction.NOTE_ADDED, by, now, note_id=note.note_id)
        self._record(event, now, f"Note added by {by.label()}")
        return note

    def decide_level(self, level: RiskLevel, reason: str, *, by: Actor, now: datetime) -> CaseAssessed:
        """A person's decision on the level, beside triage's recommendation; triage routes it (``CaseAssessed``)."""
        self._must_be_open("assessed")
        if self.risk is None:
            raise CaseConflict("the case has no assessment by triage yet: decide once it is triaged")
        recommended = (self.recommendation or self.risk).level
        decision = HumanDecision(
            decision_no=len(self.decisions) + 1,
            level=level,
            recommended_level=recommended,
            reason=reason,
            by=by,
            at=now,
        )
        self.decisions.append(decision)
        event = CaseAssessed(
            occurred=now,
            case_id=self.case_id,
            decision_no=decision.decision_no,
            level=level,
            recommended_level=recommended,
            decided_by_role=by.role,
            decided_by_org=by.org,
        )
        self._record(event, now, f"Level decided by {by.label()}: {level.value} (triage recommended {recommended})")
        return event

    def add_followup(
        self,
        kind: FollowupKind,
        *,
        by: Actor,
        now: datetime,
        outcome: str = "",
        authority: MeasureAuthority | None = None,
        measure: str | None = None,
        until: date | None = None,
    ) -> CaseFollowup:
        """A follow-up recorded over HTTP by the party it belongs to (``FOLLOWUP_ROLES``), on the follow-up topic
        like a liaison's; support and protection may be recorded on a closed case too (aftercare goes on)."""
        allowed = FOLLOWUP_ROLES[kind]
        if by.role not in allowed:
            raise NotAllowed(f"a {kind.value} is recorded by {', '.join(sorted(allowed))}, not by {by.role}")
        if authority is not None and by.role in ("om", "burgemeester") and authority.value != by.role:
            raise NotAllowed(f"a {by.role} records the measures it ordered itself, not those of the {authority.value}")
        event = CaseFollowup(
            occurred=now,
            case_id=self.case_id,
            kind=kind,
            organisation=by.org or by.role,
            outcome=outcome,
            authority=authority,
            measure=measure,
            until=until,
        )
        self.record_followup(event, now=now)
        self.outbox.append(Outgoing(event.event_id, to_record(event, source=SOURCE)))
        return event

    def pending_acknowledgements(self, ack_levels: Collection[RiskLevel]) -> list[Recipient]:
        """Recipients whose notification had to be acknowledged and was neither acknowledged nor escalated."""
        return sorted(
            (r for r, d in self.notifications.items() if d.level in ack_levels and d.status not in SETTLED),
            key=lambda r: r.value,
        )

    def decided_level_underway(self, ack_levels: Collection[RiskLevel]) -> bool:
        """A person decided a level that must be acknowledged, and no notification at that level has come back yet
        (triage and notify are still routing it): closing now would skip the acknowledgements it needs."""
        if not self.decisions or self.decisions[-1].level not in ack_levels:
            return False
        decided = self.decisions[-1].level
        return not any(d.level is decided for d in self.notifications.values())

    def close(self, reason: str, *, by: Actor, now: datetime, ack_levels: Collection[RiskLevel]) -> bool:
        """Close the case; False when it was closed already. Refused while a notification awaits acknowledgement."""
        if self.closed:
            return False
        if self.decided_level_underway(ack_levels):
            raise CaseConflict("the decided level is still being routed: its notifications must be acknowledged first")
        waiting = self.pending_acknowledgements(ack_levels)
        if waiting:
            names = ", ".join(r.value for r in waiting)
            raise CaseConflict(f"notifications to {names} were neither acknowledged nor escalated yet")
        self.closure = Closure(at=now, by=by, reason=reason, status_before=self.status)
        self.status = CaseStatus.CLOSED
        event = self._workflow(WorkflowAction.CLOSED, by, now)
        self._record(event, now, f"Closed by {by.label()}")
        return True

    def reopen(self, reason: str, *, by: Actor, now: datetime, by_report: bool = False) -> bool:
        """Reopen a closed case (a person, or a new report of the incident); False when it was open."""
        if not self.closed or self.closure is None:
            return False
        self.status = self.closure.status_before
        self.closure = None
        event = self._workflow(WorkflowAction.REOPENED, by, now, reopened_by_report=by_report)
        why = "a new report of the incident" if by_report else by.label()
        self._record(event, now, f"Reopened by {why}")
        return True

    # --- helpers --------------------------------------------------------------------------------------------------

    def _must_be_open(self, what: str) -> None:
        if self.closed:
            raise CaseConflict(f"the case is closed and cannot be {what}: reopen it first")

    def _workflow(self, action: WorkflowAction, by: Actor, now: datetime, **fields: object) -> CaseWorkflow:
        return CaseWorkflow(
            occurred=now,
            case_id=self.case_id,
            action=action,
            actor_role=by.role,
            actor_org=by.org,
            **fields,  # the optional fields of each action, checked by the model
        )

    def _record(self, event: Event, now: datetime, summary: str) -> None:
        entry = TimelineEntry(at=event.occurred, event=type(event).__name__, event_id=event.event_id, summary=summary)
        self._add_to_timeline(entry)
        self.outbox.append(Outgoing(event.event_id, to_record(event, source=SOURCE)))
        self._applied(event, now)
