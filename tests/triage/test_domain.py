"""Triage decisions: explainable scores and who must act."""

from __future__ import annotations

from typing import Any

from services.triage import domain
from services.triage.policy import Policy
from shared.contracts.events import RiskLevel
from shared.contracts.incident import IncidentReport
from shared.contracts.topics import Recipient
from tests.support.samples import body

QUIET: dict[str, Any] = {
    "incident.indicators": {},
    "incident.types": ["verbal_aggression"],
    "incident.description": "Boze mail over het parkeerbeleid.",
    "wants_aangifte": False,
    "incident.impact_on_functioning": False,
}


def _report(**changes: Any) -> IncidentReport:
    return IncidentReport.model_validate(body(**changes))


def _assess(report: IncidentReport, policy: Policy) -> domain.Assessment:
    return domain.assess(report, [], policy)


def _recipients(report: IncidentReport, policy: Policy) -> set[Recipient]:
    return {r.recipient for r in _assess(report, policy).routes}


def test_home_visit_without_threat_outranks_an_explicit_threat_alone(policy: Policy) -> None:
    threat_only = _report(**{**QUIET, "incident.indicators": {"explicit_threat": True}, "incident.types": ["threat"]})
    visit_only = _report(
        **{**QUIET, "incident.indicators": {"home_visited": True}, "incident.types": ["home_visit"]},
        **{"incident.channel": "at_home"},
    )
    assert _assess(visit_only, policy).score > _assess(threat_only, policy).score


def test_explicit_threat_alone_is_not_high_risk(policy: Policy) -> None:
    report = _report(
        **{
            **QUIET,
            "incident.indicators": {"explicit_threat": True},
            "incident.types": ["threat"],
            "incident.description": "Ik maak je af, landverrader!",
        }
    )
    assert _assess(report, policy).level in (RiskLevel.LOW, RiskLevel.MEDIUM)


def test_every_factor_explains_itself_and_the_score_is_their_sum(policy: Policy) -> None:
    assessment = _assess(_report(), policy)
    assert assessment.factors
    assert all(f.explanation and f.weight > 0 and f.matched for f in assessment.factors)
    assert assessment.score == sum(f.weight for f in assessment.factors)
    assert assessment.policy_version == "policy-v1"


def test_a_factor_counts_once_however_many_triggers_fire(policy: Policy) -> None:
    report = _report(
        **{
            **QUIET,
            "incident.indicators": {"weapon_mentioned": True},
            "incident.description": "Ik heb een mes en een pistool.",
        }
    )
    (weapon,) = [f for f in _assess(report, policy).factors if f.code == "weapon"]
    assert weapon.weight == 30
    assert set(weapon.matched) == {"indicator:weapon_mentioned", "text:weapon.mes", "text:weapon.vuurwapen"}


def test_every_case_goes_to_otwb_and_bzk(policy: Policy) -> None:
    quiet = _report(**QUIET)
    assert _assess(quiet, policy).level is RiskLevel.LOW
    assert _recipients(quiet, policy) == {Recipient.OTWB, Recipient.BZK}


def test_wish_to_file_aangifte_routes_to_police_at_any_level(policy: Policy) -> None:
    assert Recipient.POLICE in _recipients(_report(**{**QUIET, "wants_aangifte": True}), policy)


def test_critical_case_reaches_police_om_jenv_and_burgemeester(policy: Policy) -> None:
    report = _report(
        **{
            "incident.indicators": {"home_visited": True, "weapon_mentioned": True, "approach_intent": True},
            "incident.types": ["threat", "home_visit"],
            "wants_aangifte": False,
        }
    )
    assessment = _assess(report, policy)
    assert assessment.level is RiskLevel.CRITICAL
    assert {Recipient.POLICE, Recipient.OM, Recipient.JENV, Recipient.BURGEMEESTER} <= _recipients(report, policy)


def test_high_risk_with_a_weapon_reaches_the_om_without_being_critical(policy: Policy) -> None:
    report = _report(
        **{**QUIET, "incident.types": ["intimidation"], "incident.description": "Ik kom langs met een mes."},
    )
    assessment = _assess(report, policy)
    assert assessment.level is RiskLevel.HIGH
    assert Recipient.OM in {r.recipient for r in assessment.routes}
    assert Recipient.JENV not in {r.recipient for r in assessment.routes}


def test_home_involvement_offers_a_ccv_security_scan(policy: Policy) -> None:
    assert Recipient.CCV in _recipients(_report(**{"incident.indicators": {"home_address_known": True}}), policy)
    assert Recipient.CCV not in _recipients(_report(**QUIET), policy)


def test_burgemeester_route_names_the_authority_for_each_body_kind(policy: Policy) -> None:
    high = {"incident.indicators": {"home_visited": True, "home_address_known": True}, "incident.types": ["home_visit"]}
    gemeente = _assess(_report(**high), policy)
    provincie = {"office_holder.role": "statenlid", "office_holder.body": {"kind": "provincie", "code": "PV27"}}
    statenlid = _assess(_report(**high, **provincie, **{"office_holder.residence_municipality": "GM0363"}), policy)
    (local,) = [r for r in gemeente.routes if r.recipient is Recipient.BURGEMEESTER]
    (provincial,) = [r for r in statenlid.routes if r.recipient is Recipient.BURGEMEESTER]
    assert "GM0344" in local.reason
    assert "woongemeente (GM0363)" in provincial.reason
    assert "commissaris van de Koning (PV27)" in provincial.reason


def test_a_provincie_case_goes_to_the_burgemeester_where_it_happened_or_to_none_when_unknown(policy: Policy) -> None:
    high = {"incident.indicators": {"home_visited": True, "home_address_known": True}, "incident.types": ["home_visit"]}
    waterschap = {
        "office_holder.role": "waterschapsbestuurder",
        "office_holder.body": {"kind": "waterschap", "code": "WS0155"},
    }
    unknown = _assess(_report(**high, **waterschap), policy)
    there = _assess(_report(**high, **waterschap, **{"incident.municipality": "GM0599"}), policy)
    assert Recipient.BURGEMEESTER not in {r.recipient for r in unknown.routes}, "no burgemeester could read it"
    assert Recipient.POLICE in {r.recipient for r in unknown.routes}
    (local,) = [r for r in there.routes if r.recipient is Recipient.BURGEMEESTER]
    assert "GM0599" in local.reason


def test_each_route_says_why(policy: Policy) -> None:
    assert all(route.reason for route in _assess(_report(), policy).routes)


def test_no_factor_carries_the_description_text(policy: Policy) -> None:
    secret = "Ik sta zo voor je deur aan de Dorpsstraat 12 met een mes"
    assessment = _assess(_report(**{"incident.description": secret}), policy)
    dumped = " ".join(f.model_dump_json() for f in assessment.factors)
    assert "Dorpsstraat" not in dumped
    assert "voor je deur" not in dumped
