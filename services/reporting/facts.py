"""A case's facts as reporting keeps them, folded from its events (pure: no I/O).

Every fold is idempotent and order-independent, so duplicates and out-of-order delivery leave the figures alone and
no event ids need keeping: the triage part is replaced only by a later assessment (``assessment_no``, then event
time); notification times keep their minimum; the follow-up stage keeps its maximum and "aangifte filed", once true,
stays true. The same fold serves the live consumers (one case at a time, through the store) and ``weerbaar replay``
(the whole log in memory).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from services.reporting.geography import UNKNOWN, province_of
from services.reporting.periods import council_term
from shared.contracts.events import (
    CaseErased,
    CaseFollowup,
    CaseTriaged,
    FollowupKind,
    NotificationState,
    NotificationStatus,
    erased_office_holder_ref,
)
from shared.contracts.incident import DirectedAt

LOCAL = ZoneInfo("Europe/Amsterdam")
ONLINE_CHANNELS = frozenset({"online"})
YES, NO = "ja", "nee"
NOT_ONLINE = "n.v.t."  # the platform of an offline incident

# Follow-up stages, furthest last; an OM decision is refined by its (known) outcome.
NO_FOLLOWUP = "geen"
STAGES: dict[str, str] = {
    FollowupKind.AANGIFTE_REGISTERED.value: "aangifte_opgenomen",
    FollowupKind.MEASURE_TAKEN.value: "maatregel",
    FollowupKind.SUSPECT_IDENTIFIED.value: "verdachte_in_beeld",
    FollowupKind.OM_DECISION.value: "om_beslissing",
}
STAGE_ORDER = (NO_FOLLOWUP, *STAGES.values())
OM_OUTCOMES = frozenset({"dagvaarding", "strafbeschikking", "sepot", "transactie"})


@dataclass(frozen=True, slots=True)
class TriagePart:
    """What a case's latest assessment tells the figures: no name, no free text, no body code; one keyed pseudonym."""

    assessment_no: int
    triaged_at: datetime
    office_holder_ref: str
    role: str
    gender: str
    types: tuple[str, ...]
    channel: str
    level: str
    body_kind: str
    province: str
    occurred_at: datetime
    reported_at: datetime
    impact_on_functioning: bool
    wants_aangifte: bool
    directed_at: str = DirectedAt.UNKNOWN.value
    platform: str | None = None

    @classmethod
    def of(cls, event: CaseTriaged) -> TriagePart:
        facts = event.facts
        return cls(
            assessment_no=event.assessment_no,
            triaged_at=stored_time(event.occurred),
            office_holder_ref=facts.office_holder_ref,
            role=facts.role.value,
            gender=facts.gender.value,
            types=tuple(sorted(t.value for t in facts.types)),
            channel=facts.channel.value,
            level=event.level.value,
            body_kind=facts.body_kind.value,
            province=province_of(facts.body_kind.value, facts.body_code),
            occurred_at=stored_time(facts.occurred_at),
            reported_at=stored_time(facts.reported_at),
            impact_on_functioning=facts.impact_on_functioning,
            wants_aangifte=facts.wants_aangifte,
            directed_at=facts.directed_at.value,
            platform=facts.platform.value if facts.platform else None,
        )

    def later_than(self, other: TriagePart) -> bool:
        return (self.assessment_no, self.triaged_at) > (other.assessment_no, other.triaged_at)


@dataclass(frozen=True, slots=True)
class Fact:
    """One triaged case as the figures see it."""

    case_id: str
    office_holder_ref: str
    occurred_at: datetime
    dims: Mapping[str, str]
    types: tuple[str, ...]
    minutes_to_notification: float | None
    minutes_to_acknowledgement: float | None


@dataclass(slots=True)
class FactSheet:
    """The aggregate: one case's facts, changed only by folding its events in."""

    case_id: str
    triage: TriagePart | None = None
    first_sent_at: datetime | None = None
    first_ack_at: datetime | None = None
    followup_stage: str = NO_FOLLOWUP
    aangifte_filed: bool = False
    support: frozenset[str] = frozenset()
    """Support and protection follow-ups seen (kinds): OTWB aftercare, CCV scan requested/done, protective measure."""
    erased: bool = False
    """The case was erased: its figures stay, its office holder's pseudonym does not (``erased_office_holder_ref``)."""

    @staticmethod
    def concerns(event: BaseModel) -> bool:
        """Whether folding ``event`` in can change any case's facts (most notification states cannot)."""
        if isinstance(event, NotificationStatus):
            return event.status in (NotificationState.SENT, NotificationState.ACKNOWLEDGED)
        if isinstance(event, CaseErased):
            return not event.report_ids  # a filer's withdrawal of some reports leaves the case's office holder
        return isinstance(event, CaseTriaged | CaseFollowup)

    def take(self, event: BaseModel) -> bool:
        """Fold one event in; True when the facts changed."""
        before = (
            self.triage, self.first_sent_at, self.first_ack_at, self.followup_stage, self.aangifte_filed, self.support,
            self.erased,
        )  # fmt: skip
        if isinstance(event, CaseTriaged):
            part = TriagePart.of(event)
            if self.triage is None or part.later_than(self.triage):
                self.triage = part
        elif isinstance(event, CaseErased):
            self.erased = self.erased or not event.report_ids
        elif isinstance(event, NotificationStatus):
            at = stored_time(event.occurred)
            if event.status is NotificationState.SENT:
                self.first_sent_at = _earliest(self.first_sent_at, at)
            elif event.status is NotificationState.ACKNOWLEDGED:
                self.first_ack_at = _earliest(self.first_ack_at, at)
        elif isinstance(event, CaseFollowup):
            self.followup_stage = furthest_stage([self.followup_stage, stage_of(event.kind.value, event.outcome)])
            self.aangifte_filed = self.aangifte_filed or event.kind is FollowupKind.AANGIFTE_REGISTERED
            if event.kind.value in SUPPORT_KINDS:
                self.support = self.support | {event.kind.value}
        if self.erased and self.triage is not None:  # whichever came first: no pseudonym once erased
            self.triage = replace(self.triage, office_holder_ref=erased_office_holder_ref(self.case_id))
        after = (
            self.triage, self.first_sent_at, self.first_ack_at, self.followup_stage, self.aangifte_filed, self.support,
            self.erased,
        )  # fmt: skip
        return after != before

    def take_all(self, events: Iterable[BaseModel]) -> bool:
        """Fold every event in, in order; True when the facts changed."""
        changed = [self.take(event) for event in events]  # all of them: no short cut at the first change
        return any(changed)

    def fact(self) -> Fact | None:
        """The case as the figures see it; None until its triage has been seen."""
        triage = self.triage
        if triage is None:
            return None
        local = triage.occurred_at.astimezone(LOCAL)
        dims = {
            "period": f"{local.year:04d}-{local.month:02d}",
            "quarter": f"{local.year:04d}-Q{(local.month - 1) // 3 + 1}",
            "year": f"{local.year:04d}",
            "role": triage.role,
            "gender": triage.gender,
            "channel": triage.channel,
            "channel_group": "online" if triage.channel in ONLINE_CHANNELS else "offline",
            "risk_level": triage.level,
            "body_kind": triage.body_kind,
            "province": triage.province or UNKNOWN,
            "impact_on_functioning": YES if triage.impact_on_functioning else NO,
            "aangifte_wanted": YES if triage.wants_aangifte else NO,
            "aangifte_filed": YES if self.aangifte_filed else NO,
            "followup_outcome": self.followup_stage,
            **support_dims(self.support),
            "directed_at": triage.directed_at,
            "platform": (triage.platform or UNKNOWN) if triage.channel in ONLINE_CHANNELS else NOT_ONLINE,
            "council_term": council_term(local.date()),
        }
        return Fact(
            case_id=self.case_id,
            office_holder_ref=triage.office_holder_ref,
            occurred_at=triage.occurred_at,
            dims={name: sys.intern(value) for name, value in dims.items()},  # a book of many facts shares them
            types=triage.types,
            minutes_to_notification=_minutes(triage.reported_at, self.first_sent_at),
            minutes_to_acknowledgement=_minutes(triage.reported_at, self.first_ack_at),
        )


SUPPORT_KINDS = frozenset(
    {
        FollowupKind.OTWB_AFTERCARE.value,
        FollowupKind.CCV_SCAN_REQUESTED.value,
        FollowupKind.CCV_SCAN_DONE.value,
        FollowupKind.PROTECTIVE_MEASURE.value,
    }
)


def support_dims(support: frozenset[str]) -> dict[str, str]:
    """The support and protection a case got, as figures may show it (no who, what or until)."""
    scan = "uitgevoerd" if FollowupKind.CCV_SCAN_DONE.value in support else "geen"
    if scan == "geen" and FollowupKind.CCV_SCAN_REQUESTED.value in support:
        scan = "aangevraagd"
    return {
        "otwb_aftercare": YES if FollowupKind.OTWB_AFTERCARE.value in support else NO,
        "ccv_scan": scan,
        "protective_measure": YES if FollowupKind.PROTECTIVE_MEASURE.value in support else NO,
    }


def stage_of(kind: str, outcome: str) -> str:
    """A follow-up's stage; an OM decision with a known outcome names it (free text never counts)."""
    outcome = outcome.strip().lower()
    if kind == FollowupKind.OM_DECISION.value and outcome in OM_OUTCOMES:
        return f"om_{outcome}"
    return STAGES.get(kind, NO_FOLLOWUP)


def furthest_stage(stages: Iterable[str]) -> str:
    return max([NO_FOLLOWUP, *stages], key=_rank)


def stored_time(at: datetime) -> datetime:
    """``at`` as the store keeps it (milliseconds), so what is folded compares equal to what is read back."""
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


def _earliest(current: datetime | None, at: datetime) -> datetime:
    return at if current is None or at < current else current


def _minutes(start: datetime, end: datetime | None) -> float | None:
    if end is None:
        return None
    return max(0.0, (end - start).total_seconds() / 60)


def _rank(stage: str) -> tuple[int, str]:
    return STAGE_ORDER.index("om_beslissing" if stage.startswith("om_") else stage), stage
