"""Risk assessment and routing: pure decisions from a report, no I/O.

This first policy is deliberately small; the versioned policy file replaces it (issue 4).
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.contracts.events import Factor, RiskLevel, Route
from shared.contracts.incident import Channel, IncidentReport, IncidentType
from shared.contracts.topics import Recipient

POLICY_VERSION = "skeleton-1"

_INDICATOR_WEIGHTS: dict[str, tuple[float, str]] = {
    "home_visited": (40, "The office holder's home was visited: approach behaviour is the strongest warning sign"),
    "approach_intent": (30, "Stated intent to approach the office holder"),
    "weapon_mentioned": (30, "A weapon was mentioned"),
    "home_address_known": (25, "The perpetrator knows the home address"),
    "repeated_contact": (15, "Repeated contact"),
    "multiple_channels": (10, "Contact over several channels"),
    "family_targeted": (15, "Family members are targeted"),
    "explicit_threat": (15, "An explicit threat was made (weak predictor on its own)"),
}
_TYPE_WEIGHTS: dict[IncidentType, tuple[float, str]] = {
    IncidentType.PHYSICAL_VIOLENCE: (40, "Physical violence took place"),
    IncidentType.HOME_VISIT: (30, "A visit to the home"),
    IncidentType.STALKING: (20, "Stalking (art. 285b Sr)"),
    IncidentType.DOXING: (15, "Personal data spread to intimidate (art. 285d Sr)"),
    IncidentType.THREAT: (10, "Threat (art. 285 Sr)"),
}
_THRESHOLDS: tuple[tuple[float, RiskLevel], ...] = (
    (70, RiskLevel.CRITICAL),
    (45, RiskLevel.HIGH),
    (20, RiskLevel.MEDIUM),
    (0, RiskLevel.LOW),
)


@dataclass(frozen=True, slots=True)
class Assessment:
    policy_version: str
    level: RiskLevel
    score: float
    factors: tuple[Factor, ...]
    routes: tuple[Route, ...]


def score_factors(report: IncidentReport) -> tuple[Factor, ...]:
    """Every factor that contributes, with its weight and why."""
    factors: list[Factor] = []
    indicators = report.incident.indicators.model_dump()
    for code, (weight, why) in _INDICATOR_WEIGHTS.items():
        if indicators.get(code):
            factors.append(Factor(code=f"indicator.{code}", weight=weight, explanation=why))
    for incident_type in report.incident.types:
        if incident_type in _TYPE_WEIGHTS:
            weight, why = _TYPE_WEIGHTS[incident_type]
            factors.append(Factor(code=f"type.{incident_type.value}", weight=weight, explanation=why))
    if report.incident.impact_on_functioning:
        factors.append(Factor(code="impact.functioning", weight=5, explanation="Affects how the office holder works"))
    return tuple(factors)


def level_for(score: float) -> RiskLevel:
    return next(level for threshold, level in _THRESHOLDS if score >= threshold)


def route(report: IncidentReport, level: RiskLevel) -> tuple[Route, ...]:
    """Who must act, and why."""
    routes = [
        Route(recipient=Recipient.OTWB, reason="Every case: offer support and aftercare"),
        Route(recipient=Recipient.BZK, reason="Every case: programme monitoring, without personal data"),
    ]
    if report.wants_aangifte or level in (RiskLevel.HIGH, RiskLevel.CRITICAL):
        why = "The office holder wants to file an aangifte" if report.wants_aangifte else f"Risk level {level}"
        routes.append(Route(recipient=Recipient.POLICE, reason=why))
    if level in (RiskLevel.HIGH, RiskLevel.CRITICAL):
        routes.append(Route(recipient=Recipient.BURGEMEESTER, reason=f"Risk level {level}: local measures"))
    if level is RiskLevel.CRITICAL:
        routes.append(Route(recipient=Recipient.OM, reason="Critical: concrete criminal threat"))
        routes.append(Route(recipient=Recipient.JENV, reason="Critical: Bewaken en Beveiligen coordination"))
    indicators = report.incident.indicators
    if indicators.home_address_known or indicators.home_visited or report.incident.channel is Channel.AT_HOME:
        routes.append(Route(recipient=Recipient.CCV, reason="The home is involved: offer a security scan"))
    return tuple(routes)


def assess(report: IncidentReport) -> Assessment:
    """Score a report factor by factor, pick a level and the recipients."""
    factors = score_factors(report)
    score = float(sum(f.weight for f in factors))
    level = level_for(score)
    return Assessment(POLICY_VERSION, level, score, factors, route(report, level))
