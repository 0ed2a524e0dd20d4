"""History of linked incidents and re-assessment: the level may rise, never silently drop."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from services.triage import domain
from services.triage.domain import HistoryEntry, RoutingFacts
from services.triage.policy import Policy
from shared.contracts.events import CaseFollowup, FollowupKind, RiskLevel
from shared.contracts.incident import BodyKind, Channel, IncidentReport, IncidentType
from shared.contracts.topics import Recipient
from tests.support.samples import body

MILD: dict[str, Any] = {
    "incident.indicators": {},
    "incident.types": ["verbal_aggression"],
    "incident.description": "Scheldpartij in een reactie op Facebook.",
    "wants_aangifte": False,
    "incident.impact_on_functioning": False,
}
FACTS = RoutingFacts(wants_aangifte=False, body_kind=BodyKind.GEMEENTE, body_code="GM0344")


def _report(**changes: Any) -> IncidentReport:
    return IncidentReport.model_validate(body(**{**MILD, **changes}))


def _earlier(days: int, channel: Channel, level: RiskLevel = RiskLevel.LOW) -> HistoryEntry:
    occurred = datetime.fromisoformat("2026-11-20T21:30:00+01:00") - timedelta(days=days)
    return HistoryEntry(
        case_id=f"case-{days:04d}", event_id=f"event-{days:04d}", occurred_at=occurred, channel=channel,
        level=level, types=(IncidentType.VERBAL_AGGRESSION,),
    )  # fmt: skip


def _codes(assessment: domain.Assessment) -> set[str]:
    return {f.code for f in assessment.factors}


def test_earlier_incidents_against_the_same_office_holder_count(policy: Policy) -> None:
    alone = domain.assess(_report(), [], policy)
    again = domain.assess(_report(), [_earlier(10, Channel.ONLINE)], policy)
    assert "prior_incident" in _codes(again)
    assert again.score > alone.score


def test_incidents_outside_the_window_do_not_count(policy: Policy) -> None:
    assert "prior_incident" not in _codes(domain.assess(_report(), [_earlier(800, Channel.ONLINE)], policy))


def test_repeated_incidents_over_several_channels_raise_the_level(policy: Policy) -> None:
    history = [_earlier(30, Channel.MAIL), _earlier(12, Channel.PHONE)]
    assessment = domain.assess(_report(), history, policy)
    assert {"prior_incident", "repeated_contact", "multiple_channels"} <= _codes(assessment)
    assert assessment.level is RiskLevel.MEDIUM


def test_a_more_serious_incident_after_earlier_ones_is_escalation(policy: Policy) -> None:
    serious = _report(**{"incident.types": ["threat"], "incident.description": "Ik weet je adres, ik kom langs."})
    escalated = domain.assess(serious, [_earlier(20, Channel.ONLINE)], policy)
    steady = domain.assess(serious, [_earlier(20, Channel.ONLINE, RiskLevel.CRITICAL)], policy)
    assert "escalation" in _codes(escalated)
    assert "escalation" not in _codes(steady)


def test_reported_repeat_perpetrator_counts_as_repeated_contact(policy: Policy) -> None:
    (factor,) = [
        f
        for f in domain.assess(_report(**{"incident.perpetrator": "repeat"}), [], policy).factors
        if f.code == "repeated_contact"
    ]
    assert factor.matched == ("perpetrator:repeat",)


def test_a_lower_new_level_is_held_and_says_so(policy: Policy) -> None:
    assessment = domain.assess(_report(), [], policy, previous=RiskLevel.HIGH)
    assert assessment.level is RiskLevel.HIGH
    assert assessment.computed_level is RiskLevel.LOW
    assert assessment.level_held
    (held,) = [f for f in assessment.factors if f.code == domain.LEVEL_HELD]
    assert held.weight == 0
    assert "gehandhaafd: high" in held.explanation
    assert Recipient.BURGEMEESTER in {r.recipient for r in assessment.routes}


def test_a_higher_new_level_replaces_the_previous_one(policy: Policy) -> None:
    visit = _report(**{"incident.types": ["home_visit"], "incident.indicators": {"home_address_known": True}})
    assessment = domain.assess(visit, [], policy, previous=RiskLevel.MEDIUM)
    assert assessment.level is RiskLevel.HIGH
    assert not assessment.level_held
    assert assessment.previous_level is RiskLevel.MEDIUM


def _followup(kind: FollowupKind, outcome: str = "") -> CaseFollowup:
    return CaseFollowup(case_id="case-00000001", kind=kind, organisation="Politie Eenheid Oost", outcome=outcome)


def test_informational_followups_do_not_reassess(policy: Policy) -> None:
    for followup in (
        _followup(FollowupKind.AANGIFTE_REGISTERED),
        _followup(FollowupKind.SUSPECT_IDENTIFIED),
        _followup(FollowupKind.MEASURE_TAKEN, "contactverbod opgelegd"),
        _followup(FollowupKind.OM_DECISION, "sepot"),
    ):
        assert domain.followup_rule(followup, policy) is None


def test_a_breached_measure_raises_the_level(policy: Policy) -> None:
    rule = domain.followup_rule(_followup(FollowupKind.MEASURE_TAKEN, "Contactverbod overtreden"), policy)
    assert rule is not None
    before = domain.assess(_report(**{"incident.indicators": {"home_address_known": True}}), [], policy)
    after = domain.reassess_on_followup(rule, factors=before.factors, previous=before.level, facts=FACTS, policy=policy)
    assert before.level is RiskLevel.MEDIUM
    assert after.level is RiskLevel.HIGH
    assert "measure_breached" in _codes(after)
    assert after.score == before.score + 30


def test_a_followup_never_lowers_a_held_level(policy: Policy) -> None:
    rule = domain.followup_rule(_followup(FollowupKind.OM_DECISION, "verdachte vrijgelaten"), policy)
    assert rule is not None
    after = domain.reassess_on_followup(rule, factors=(), previous=RiskLevel.CRITICAL, facts=FACTS, policy=policy)
    assert after.level is RiskLevel.CRITICAL
    assert after.level_held
