"""Triage decisions: explainable scores and who must act."""

from __future__ import annotations

from typing import Any

from services.triage import domain
from shared.contracts.events import RiskLevel
from shared.contracts.incident import IncidentReport
from shared.contracts.topics import Recipient
from tests.support.samples import body

NO_INDICATORS: dict[str, Any] = {}


def _report(**changes: Any) -> IncidentReport:
    return IncidentReport.model_validate(body(**changes))


def _recipients(report: IncidentReport) -> set[Recipient]:
    return {r.recipient for r in domain.assess(report).routes}


def test_home_visit_without_threat_outranks_an_explicit_threat_alone() -> None:
    threat_only = _report(
        **{
            "incident.indicators": {"explicit_threat": True},
            "incident.types": ["threat"],
            "incident.impact_on_functioning": False,
        }
    )
    visit_only = _report(
        **{
            "incident.indicators": {"home_visited": True},
            "incident.types": ["home_visit"],
            "incident.channel": "at_home",
            "incident.impact_on_functioning": False,
        }
    )
    assert domain.assess(visit_only).score > domain.assess(threat_only).score


def test_explicit_threat_alone_is_not_high_risk() -> None:
    report = _report(**{"incident.indicators": {"explicit_threat": True}, "incident.types": ["threat"]})
    assert domain.assess(report).level in (RiskLevel.LOW, RiskLevel.MEDIUM)


def test_every_factor_explains_itself_and_the_score_is_their_sum() -> None:
    assessment = domain.assess(_report())
    assert assessment.factors
    assert all(f.explanation and f.weight > 0 for f in assessment.factors)
    assert assessment.score == sum(f.weight for f in assessment.factors)
    assert assessment.policy_version


def test_every_case_goes_to_otwb_and_bzk() -> None:
    quiet = _report(
        **{
            "incident.indicators": NO_INDICATORS,
            "incident.types": ["verbal_aggression"],
            "wants_aangifte": False,
            "incident.impact_on_functioning": False,
        }
    )
    assert domain.assess(quiet).level is RiskLevel.LOW
    assert _recipients(quiet) == {Recipient.OTWB, Recipient.BZK}


def test_wish_to_file_aangifte_routes_to_police_at_any_level() -> None:
    report = _report(
        **{"incident.indicators": NO_INDICATORS, "incident.types": ["verbal_aggression"], "wants_aangifte": True}
    )
    assert Recipient.POLICE in _recipients(report)


def test_critical_case_reaches_police_om_jenv_and_burgemeester() -> None:
    report = _report(
        **{
            "incident.indicators": {"home_visited": True, "weapon_mentioned": True, "approach_intent": True},
            "incident.types": ["threat", "home_visit"],
            "wants_aangifte": False,
        }
    )
    assessment = domain.assess(report)
    assert assessment.level is RiskLevel.CRITICAL
    assert {Recipient.POLICE, Recipient.OM, Recipient.JENV, Recipient.BURGEMEESTER} <= _recipients(report)


def test_home_involvement_offers_a_ccv_security_scan() -> None:
    assert Recipient.CCV in _recipients(_report(**{"incident.indicators": {"home_address_known": True}}))
    assert Recipient.CCV not in _recipients(_report(**{"incident.indicators": NO_INDICATORS}))


def test_each_route_says_why() -> None:
    assert all(route.reason for route in domain.assess(_report()).routes)
