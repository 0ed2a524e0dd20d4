"""A person's decision on the level is routed by the policy's rules; no one notified before is dropped."""

from __future__ import annotations

from services.triage import domain
from services.triage.assessment import CaseAssessment, Decision, Lane
from services.triage.domain import RoutingFacts
from services.triage.policy import Policy
from shared.contracts.events import Factor, RiskLevel, Route
from shared.contracts.incident import BodyKind
from shared.contracts.topics import Recipient
from shared.contracts.workflow import CaseAssessed
from tests.intake.events import triaged

FACTS = RoutingFacts(wants_aangifte=False, body_kind=BodyKind.GEMEENTE, body_code="GM0344", municipality="GM0344")
FOUND = (Factor(code="explicit_threat", weight=2, explanation="test"),)


def _recipients(assessment: domain.Assessment) -> set[Recipient]:
    return {r.recipient for r in assessment.routes}


def test_an_upgrade_routes_to_whoever_the_new_level_routes_to(policy: Policy) -> None:
    decided = domain.decided_by_person(
        RiskLevel.CRITICAL, decided_by="police", recommended=RiskLevel.MEDIUM, factors=FOUND,
        notified=[Route(recipient=Recipient.POLICE, reason="x")], facts=FACTS, policy=policy,
    )  # fmt: skip
    assert decided.level is RiskLevel.CRITICAL
    assert not decided.level_held
    assert {Recipient.POLICE, Recipient.OM, Recipient.JENV, Recipient.BURGEMEESTER} <= _recipients(decided)
    codes = [f.code for f in decided.factors]
    assert codes == ["explicit_threat", domain.HUMAN_DECISION], "triage's factors stay, the decision beside them"


def test_a_downgrade_keeps_every_recipient_notified_before(policy: Policy) -> None:
    before = [Route(recipient=r, reason="x") for r in (Recipient.POLICE, Recipient.OM, Recipient.JENV)]
    decided = domain.decided_by_person(
        RiskLevel.LOW, decided_by="om", recommended=RiskLevel.CRITICAL, factors=FOUND, notified=before,
        facts=FACTS, policy=policy,
    )  # fmt: skip
    assert decided.level is RiskLevel.LOW
    assert {Recipient.POLICE, Recipient.OM, Recipient.JENV} <= _recipients(decided)


def test_the_newest_decision_of_a_batch_is_published_once(policy: Policy) -> None:
    case = CaseAssessment("case-0001")
    first = triaged("case-0001", level=RiskLevel.MEDIUM, routes=(Recipient.POLICE,))
    case.decisions = [Decision(first, Lane.MAIN)]
    decisions = [
        CaseAssessed(case_id="case-0001", decision_no=n, level=level, decided_by_role="police")
        for n, level in ((1, RiskLevel.HIGH), (2, RiskLevel.CRITICAL))
    ]
    decision = case.take_decisions(decisions, policy)
    assert decision is not None
    assert decision.acute
    assert (decision.triaged.level, decision.triaged.trigger, decision.triaged.assessment_no) == (
        RiskLevel.CRITICAL, "human", 2,
    )  # fmt: skip
    assert case.take_decisions(decisions, policy) is None, "taken in before: nothing new"
    assert case.redelivered(decisions[0].event_id, Lane.HUMAN) == decision
