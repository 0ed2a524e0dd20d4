"""The assessment of one case as triage keeps it: the aggregate its use cases load once and save once. Pure: no I/O.

It holds the newest decision of each lane (the newest of all is the case's current assessment, what a follow-up
re-assesses) and the event ids it applied, each with the number of the assessment that took it in. A record
delivered again on the lane that applied it re-publishes that very decision (same event id: every consumer
downstream dedupes by it) instead of being assessed twice; no outbox and no write after publishing are needed.

All new reports (or decisive follow-ups) of a case in one batch lead to one decision: each report is still assessed
in order, seeing the ones before it (as history, and their level as the level to hold), and the last assessment is
the one published. A burst of reports into one case (an online hate storm) thus gives one re-assessment per batch
instead of one per report, each of which every routed recipient would be notified of again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Literal, TypeVar

from services.triage import domain
from services.triage.domain import Assessment, Histories, HistoryEntry, RoutingFacts
from services.triage.errors import CaseNotYetAssessed
from services.triage.policy import FollowupRule, Policy
from shared.contracts.events import (
    CaseFacts,
    CaseFollowup,
    CaseTriaged,
    IncidentReported,
    RiskLevel,
    erased_office_holder_ref,
)
from shared.contracts.workflow import CaseAssessed
from shared.messaging.urgency import possibly_acute

KEPT_APPLIED = 2_000
"""Event ids kept for deduplication. A record comes again only while its batch is uncommitted (at most a batch,
``WEERBAAR_BATCH_MAX_RECORDS``, 200 by default) or as the main-lane copy of an urgent report, which trails it by the
routine backlog; a case is one office holder, channel and day (intake's dedup key), so 2,000 later reports of it in
between is beyond any storm. Bounds the document at ~80 KB for the largest case."""

_ACUTE = frozenset({RiskLevel.HIGH, RiskLevel.CRITICAL})
T = TypeVar("T")


class Lane(StrEnum):
    """Where a record came in: each lane is a consumer of its own, with its own progress and commits."""

    URGENT = "urgent"  # reports on the acute lane (small batches, cases side by side)
    MAIN = "main"  # reports on the main topic, in batches
    FOLLOWUP = "followup"  # follow-ups, in batches
    HUMAN = "human"  # human decisions on the level, in batches


@dataclass(frozen=True, slots=True)
class Decision:
    """An assessment as published, with what its publication needs beyond the decision itself."""

    triaged: CaseTriaged
    lane: Lane
    copies: tuple[str, ...] = ()
    """Reports (event ids) that go down the acute lane too: rated high or critical, missed by intake's screen."""

    @property
    def acute(self) -> bool:
        return self.triaged.level in _ACUTE


@dataclass(frozen=True, slots=True)
class Incident:
    """A reported incident with the non-personal facts triage keeps of it."""

    event: IncidentReported
    facts: CaseFacts


@dataclass(slots=True)
class CaseAssessment:
    case_id: str
    decisions: list[Decision] = field(default_factory=list)
    """The newest decision of each lane, oldest first; the last is the case's current assessment.

    Only a lane's newest decision can still be unpublished: a unit publishes before its call returns, and a lane
    takes on a case's next record only after that (a batch is committed once every case of it was handled). So a
    record whose decision is no longer kept had its decision published (or its record committed) already."""
    applied: dict[str, int] = field(default_factory=dict)
    """Event id → the assessment number that took it in (0: taken in, its decision no longer known)."""

    @property
    def current(self) -> CaseTriaged | None:
        return self.decisions[-1].triaged if self.decisions else None

    def pseudonyms(self) -> set[str]:
        """The office holders' keyed pseudonyms this assessment holds (in its decisions' facts)."""
        return {d.triaged.facts.office_holder_ref for d in self.decisions} - {erased_office_holder_ref(self.case_id)}

    def erase(self) -> bool:
        """The case was erased: its decisions keep their codes and levels, the pseudonym becomes one that links
        nothing (``erased_office_holder_ref``); True when anything changed (again: nothing)."""
        token = erased_office_holder_ref(self.case_id)
        if not self.pseudonyms():
            return False
        self.decisions = [
            replace(
                d,
                triaged=d.triaged.model_copy(
                    update={"facts": d.triaged.facts.model_copy(update={"office_holder_ref": token})}
                ),
            )
            for d in self.decisions
        ]
        return True

    def redelivered(self, event_id: str, lane: Lane) -> Decision | None:
        """The decision to publish again for a record that was applied on this very lane; None otherwise.

        A record applied on the other lane is that lane's to publish: an urgent report's main-lane copy (or the
        copy triage itself put on the urgent topic) publishes nothing a second time.
        """
        number = self.applied.get(event_id)
        decision = next((d for d in self.decisions if d.triaged.assessment_no == number), None)
        return decision if decision is not None and decision.lane is lane else None

    def take_reports(
        self, incidents: Sequence[Incident], histories: Histories, policy: Policy, *, lane: Lane
    ) -> Decision | None:
        """Assess the reports not taken in before, in order; one decision for all of them (None: nothing new).

        Each report is scored with its office holder's earlier incidents (the ones before it in ``incidents``
        included), and each is added to ``histories`` with its own computed level.
        """
        fresh = self._fresh(incidents, key=lambda i: i.event.event_id)
        if not fresh:
            return None
        level = self.current.level if self.current else None
        last: Assessment | None = None
        copies: list[str] = []
        for incident in fresh:
            event, facts = incident.event, incident.facts
            earlier = histories.earlier(
                facts.office_holder_ref,
                around=facts.occurred_at,
                window_days=policy.history.window_days,
                exclude_event=event.event_id,
            )
            last = domain.assess(event.plain_report, earlier, policy, previous=level)
            histories.add(facts.office_holder_ref, _history_entry(incident, last))
            level = last.level
            if last.level in _ACUTE and not possibly_acute(event.plain_report):
                copies.append(event.event_id)  # notify's acute consumers need the report: intake did not see it coming
        assert last is not None
        return self._decide(
            last, fresh[-1].facts, causes=[i.event.event_id for i in fresh], lane=lane, copies=tuple(copies)
        )

    def recall(self, incidents: Sequence[Incident], histories: Histories, policy: Policy, *, lane: Lane) -> None:
        """Add to ``histories`` again the entries of reports this lane took in and now delivers again.

        The history is written after the decision is saved and published, so a stop in between leaves the records
        uncommitted and the entries unwritten: they come back here. An entry still known is taken as it is; one lost
        with the process is scored again (its computed level, which the level held does not change).
        """
        for incident in incidents:
            if self.redelivered(incident.event.event_id, lane) is None:
                continue
            ref, event_id = incident.facts.office_holder_ref, incident.event.event_id
            entry = histories.known.get(ref, {}).get(event_id)
            if entry is None:
                earlier = histories.earlier(
                    ref,
                    around=incident.facts.occurred_at,
                    window_days=policy.history.window_days,
                    exclude_event=event_id,
                )
                entry = _history_entry(incident, domain.assess(incident.event.plain_report, earlier, policy))
            histories.add(ref, entry)

    def take_followups(self, followups: Sequence[tuple[CaseFollowup, FollowupRule]], policy: Policy) -> Decision | None:
        """Re-assess with each decisive follow-up not taken in before, in order; one decision for all of them."""
        fresh = self._fresh(followups, key=lambda f: f[0].event_id)
        if not fresh:
            return None
        current = self.current
        if current is None:
            raise CaseNotYetAssessed(f"case {self.case_id} has no assessment yet")
        facts = current.facts
        routing = _routing(facts)
        factors, level = current.factors, current.level
        last: Assessment | None = None
        for _, rule in fresh:
            last = domain.reassess_on_followup(rule, factors=factors, previous=level, facts=routing, policy=policy)
            factors, level = last.factors, last.level
        assert last is not None
        causes = [f.event_id for f, _ in fresh]
        return self._decide(last, facts, causes=causes, lane=Lane.FOLLOWUP, trigger="followup")

    def take_decisions(self, decisions: Sequence[CaseAssessed], policy: Policy) -> Decision | None:
        """Route the newest of the people's decisions not taken in before; one decision for all of them."""
        fresh = self._fresh(decisions, key=lambda d: d.event_id)
        if not fresh:
            return None
        current = self.current
        if current is None:
            raise CaseNotYetAssessed(f"case {self.case_id} has no assessment yet")
        facts = current.facts
        routing = _routing(facts)
        newest = max(fresh, key=lambda d: d.decision_no)
        who = newest.decided_by_role + (f" ({newest.decided_by_org})" if newest.decided_by_org else "")
        assessment = domain.decided_by_person(
            newest.level,
            decided_by=who,
            recommended=newest.recommended_level or current.level,
            factors=current.factors,
            notified=[route for d in self.decisions for route in d.triaged.routes],
            facts=routing,
            policy=policy,
        )
        causes = [d.event_id for d in fresh]
        return self._decide(assessment, facts, causes=causes, lane=Lane.HUMAN, trigger="human")

    def _fresh(self, items: Sequence[T], *, key: Callable[[T], str]) -> list[T]:
        """The items whose event was not taken in before, each event once."""
        seen: set[str] = set()
        fresh = []
        for item in items:
            event_id = key(item)
            if event_id not in self.applied and event_id not in seen:
                seen.add(event_id)
                fresh.append(item)
        return fresh

    def _decide(
        self,
        assessment: Assessment,
        facts: CaseFacts,
        *,
        causes: list[str],
        lane: Lane,
        copies: tuple[str, ...] = (),
        trigger: Literal["incident", "followup", "human"] = "incident",
    ) -> Decision:
        previous = self.current
        number = previous.assessment_no + 1 if previous else 1
        decision = Decision(
            CaseTriaged(
                case_id=self.case_id,
                assessment_no=number,
                policy_version=assessment.policy_version,
                level=assessment.level,
                score=assessment.score,
                factors=assessment.factors,
                routes=assessment.routes,
                facts=facts,
                trigger=trigger,
                previous_level=previous.level if previous else None,
                level_held=assessment.level_held,
            ),
            lane,
            copies,
        )
        self.decisions = [*(d for d in self.decisions if d.lane is not lane), decision]
        for cause in causes:
            self.applied[cause] = number
        while len(self.applied) > KEPT_APPLIED:
            del self.applied[next(iter(self.applied))]
        return decision


def _routing(facts: CaseFacts) -> RoutingFacts:
    return RoutingFacts(
        wants_aangifte=facts.wants_aangifte,
        body_kind=facts.body_kind,
        body_code=facts.body_code,
        municipality=facts.burgemeester_municipality,
    )


def _history_entry(incident: Incident, assessment: Assessment) -> HistoryEntry:
    event, facts = incident.event, incident.facts
    return HistoryEntry(
        case_id=event.case_id,
        event_id=event.event_id,
        occurred_at=facts.occurred_at,
        channel=facts.channel,
        level=assessment.computed_level,
        types=facts.types,
        perpetrator_repeat=event.plain_report.incident.perpetrator == "repeat",
    )
