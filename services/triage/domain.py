"""Risk assessment: pure decisions from a report, the office holder's history and the policy. No I/O.

A factor fires when any of its triggers does and counts its weight once; the score is the sum; the level is the
highest threshold reached. A re-assessment may raise the level but never silently lowers it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from services.triage.policy import FollowupRule, Policy
from services.triage.routing import route
from services.triage.signals import normalise, report_triggers
from shared.contracts.authority import burgemeester_municipality
from shared.contracts.events import CaseFollowup, Factor, RiskLevel, Route
from shared.contracts.incident import BodyKind, Channel, IncidentReport, IncidentType

LEVEL_HELD = "level_held"
HUMAN_DECISION = "human_decision"
_RANK = {level: rank for rank, level in enumerate(RiskLevel)}


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """An earlier incident against the same office holder, as triage keeps it: codes and pseudonyms only."""

    case_id: str
    event_id: str
    occurred_at: datetime
    channel: Channel
    level: RiskLevel
    types: tuple[IncidentType, ...]
    perpetrator_repeat: bool = False


HISTORY_LIMIT = 500
"""At most this many earlier incidents (the most recent) count: more add nothing to any history signal."""


@dataclass(slots=True)
class Histories:
    """Office holders' earlier incidents (by keyed pseudonym) as one unit of work sees them.

    What the unit adds is kept apart as well, so the store writes only that and each later report of the same
    person in the unit already counts the earlier ones.
    """

    known: dict[str, dict[str, HistoryEntry]]
    added: dict[str, list[HistoryEntry]] = field(default_factory=dict)

    def earlier(
        self, office_holder_ref: str, *, around: datetime, window_days: int, exclude_event: str
    ) -> list[HistoryEntry]:
        """Incidents against this office holder within the window, except the one being assessed, newest first."""
        window = timedelta(days=window_days)
        entries = [
            entry
            for event_id, entry in self.known.get(office_holder_ref, {}).items()
            if event_id != exclude_event and abs(entry.occurred_at - around) <= window
        ]
        entries.sort(key=lambda e: e.occurred_at, reverse=True)
        return entries[:HISTORY_LIMIT]

    def add(self, office_holder_ref: str, entry: HistoryEntry) -> None:
        self.known.setdefault(office_holder_ref, {})[entry.event_id] = entry
        self.added.setdefault(office_holder_ref, []).append(entry)

    def fork(self) -> Histories:
        """A copy to try something on: ``adopt`` it to keep what it added, or drop it."""
        return Histories(
            {ref: dict(entries) for ref, entries in self.known.items()},
            {ref: list(entries) for ref, entries in self.added.items()},
        )

    def adopt(self, fork: Histories) -> None:
        self.known, self.added = fork.known, fork.added


@dataclass(frozen=True, slots=True)
class RoutingFacts:
    """What routing needs besides the level and the factors."""

    wants_aangifte: bool
    body_kind: BodyKind
    body_code: str
    municipality: str | None = None
    """Whose burgemeester is the authority (``shared/contracts/authority.py``); None: no burgemeester to route to."""


@dataclass(frozen=True, slots=True)
class Assessment:
    policy_version: str
    level: RiskLevel
    score: float
    factors: tuple[Factor, ...]
    routes: tuple[Route, ...]
    computed_level: RiskLevel
    previous_level: RiskLevel | None = None

    @property
    def level_held(self) -> bool:
        return self.level is not self.computed_level


def level_for(score: float, policy: Policy) -> RiskLevel:
    """The highest level whose threshold the score reaches."""
    return max((level for level in RiskLevel if score >= policy.threshold(level)), key=_RANK.__getitem__)


def rank(level: RiskLevel) -> int:
    return _RANK[level]


def _factors(policy: Policy, fired: Mapping[str, tuple[str, ...]]) -> list[Factor]:
    factors = []
    for spec in policy.factors:
        matched: list[str] = []
        for trigger in spec.triggers:
            if trigger in fired:
                kind, _, _ = trigger.partition(":")
                matched += [f"text:{rule_id}" for rule_id in fired[trigger]] if kind == "text" else [trigger]
        if matched:
            factors.append(
                Factor(code=spec.code, weight=spec.weight, explanation=spec.explanation, matched=tuple(matched))
            )
    return factors


def _score(factors: Sequence[Factor]) -> float:
    return float(sum(f.weight for f in factors))


def history_triggers(
    history: Sequence[HistoryEntry], *, occurred_at: datetime, channel: Channel, level_now: RiskLevel, policy: Policy
) -> dict[str, tuple[str, ...]]:
    """History signals: earlier incidents within the window, repeated, over several channels, escalating."""
    window = timedelta(days=policy.history.window_days)
    earlier = [entry for entry in history if abs(occurred_at - entry.occurred_at) <= window]
    fired: dict[str, tuple[str, ...]] = {}
    if not earlier:
        return fired
    fired["history:prior_incident"] = ()
    if len(earlier) >= policy.history.repeated_min_earlier:
        fired["history:repeated"] = ()
    if len({entry.channel for entry in earlier} | {channel}) >= policy.history.several_channels_min:
        fired["history:several_channels"] = ()
    if rank(level_now) > max(rank(entry.level) for entry in earlier):
        fired["history:escalation"] = ()
    return fired


def _hold(
    policy: Policy, factors: list[Factor], computed: RiskLevel, previous: RiskLevel | None
) -> tuple[RiskLevel, list[Factor]]:
    """Keep the previous level when the new one is lower, and say so."""
    kept = [f for f in factors if f.code != LEVEL_HELD]
    if previous is None or rank(computed) >= rank(previous):
        return computed, kept
    held = Factor(
        code=LEVEL_HELD,
        weight=0,
        explanation=f"{policy.level_held_explanation} (berekend: {computed}, gehandhaafd: {previous})",
        matched=(f"previous_level:{previous}",),
    )
    return previous, [*kept, held]


def _decide(policy: Policy, factors: list[Factor], facts: RoutingFacts, previous: RiskLevel | None) -> Assessment:
    score = _score(factors)
    computed = level_for(score, policy)
    level, factors = _hold(policy, factors, computed, previous)
    routes = route(
        policy,
        level=level,
        factor_codes={f.code for f in factors},
        wants_aangifte=facts.wants_aangifte,
        body_kind=facts.body_kind,
        body_code=facts.body_code,
        municipality=facts.municipality,
    )
    return Assessment(policy.version, level, score, tuple(factors), routes, computed, previous)


def routing_facts(report: IncidentReport) -> RoutingFacts:
    body = report.office_holder.body
    return RoutingFacts(
        wants_aangifte=report.wants_aangifte,
        body_kind=body.kind,
        body_code=body.code,
        municipality=burgemeester_municipality(report),
    )


def assess(
    report: IncidentReport,
    history: Sequence[HistoryEntry],
    policy: Policy,
    *,
    previous: RiskLevel | None = None,
) -> Assessment:
    """Score a report with the office holder's earlier incidents; keep ``previous`` if the new level is lower."""
    fired = report_triggers(report, policy)
    level_now = level_for(_score(_factors(policy, fired)), policy)
    fired |= history_triggers(
        history,
        occurred_at=report.incident.occurred_at,
        channel=report.incident.channel,
        level_now=level_now,
        policy=policy,
    )
    return _decide(policy, _factors(policy, fired), routing_facts(report), previous)


def followup_rule(followup: CaseFollowup, policy: Policy) -> FollowupRule | None:
    """The policy rule by which this follow-up changes the picture; ``None`` when it is informational."""
    outcome = normalise(followup.outcome)
    for rule in policy.followups:
        if rule.kind is followup.kind and (rule.outcome_pattern is None or re.search(rule.outcome_pattern, outcome)):
            return rule
    return None


def reassess_on_followup(
    rule: FollowupRule,
    *,
    factors: Sequence[Factor],
    previous: RiskLevel,
    facts: RoutingFacts,
    policy: Policy,
) -> Assessment:
    """Add the follow-up's factor to the case's factors and decide again; the level never drops."""
    added = Factor(code=rule.code, weight=rule.weight, explanation=rule.explanation, matched=(f"followup:{rule.id}",))
    kept = [f for f in factors if f.code not in (rule.code, LEVEL_HELD)]
    return _decide(policy, [*kept, added], facts, previous)


def decided_by_person(
    level: RiskLevel,
    *,
    decided_by: str,
    recommended: RiskLevel,
    factors: Sequence[Factor],
    notified: Sequence[Route],
    facts: RoutingFacts,
    policy: Policy,
) -> Assessment:
    """A person's decision on the level (police, OM, burgemeester), routed by the policy's own route rules.

    The factors stay as triage found them, with the decision beside them; the level is the person's (never held).
    Every recipient routed before stays routed, told of the new level: a downgrade drops no one who was notified.
    """
    decision = Factor(
        code=HUMAN_DECISION,
        weight=0,
        explanation=f"Niveau vastgesteld door {decided_by}: {level} (advies triage: {recommended})",
        matched=(f"human:{decided_by}",),
    )
    kept = [f for f in factors if f.code not in (HUMAN_DECISION, LEVEL_HELD)]
    all_factors = [*kept, decision]
    routes = route(
        policy,
        level=level,
        factor_codes={f.code for f in all_factors},
        wants_aangifte=facts.wants_aangifte,
        body_kind=facts.body_kind,
        body_code=facts.body_code,
        municipality=facts.municipality,
    )
    routed = {r.recipient for r in routes}
    staying = tuple(
        Route(recipient=r.recipient, reason="eerder geïnformeerd; op de hoogte gehouden van het nieuwe niveau")
        for r in {r.recipient: r for r in notified}.values()
        if r.recipient not in routed
    )
    return Assessment(policy.version, level, _score(all_factors), tuple(all_factors), (*routes, *staying), level)
