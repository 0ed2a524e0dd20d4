"""The acute-lane screen: a cheap, transparent check of whether a report might be acute.

It decides only which lane a report travels in, never its risk level (triage decides that). It errs on the side of
the fast lane: a false alarm costs a few records on a quiet topic; a miss is caught by triage, which sends every
high or critical decision down the acute lane anyway.
"""

from __future__ import annotations

from shared.contracts.incident import Channel, IncidentReport, IncidentType

_ACUTE_TYPES = frozenset({IncidentType.PHYSICAL_VIOLENCE, IncidentType.HOME_VISIT, IncidentType.STALKING})
_ACUTE_PHRASES = (
    "ik kom langs",
    "voor je deur",
    "voor de deur",
    "mes",
    "pistool",
    "vuurwapen",
    "kogel",
    "ik maak je af",
    "je gaat eraan",
    "weet waar je woont",
    "weten waar je woont",
)


def possibly_acute(report: IncidentReport) -> bool:
    """True when the report shows approach, violence, a weapon, or a threat that knows where the person lives."""
    incident = report.incident
    signs = incident.indicators
    if signs.home_visited or signs.approach_intent or signs.weapon_mentioned:
        return True
    if _ACUTE_TYPES.intersection(incident.types) or incident.channel is Channel.AT_HOME:
        return True
    if signs.explicit_threat and (signs.home_address_known or signs.family_targeted):
        return True
    text = incident.description.lower()
    return any(phrase in text for phrase in _ACUTE_PHRASES)
