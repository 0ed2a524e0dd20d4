"""What a report shows: the triggers that fire, from indicators, types, channel, flags and the description's text."""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict

from services.triage.policy import Policy
from shared.contracts.incident import IncidentReport


def normalise(text: str) -> str:
    """Lower-case, accents removed, whitespace collapsed: the form text rules match against."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(folded.lower().split())


def text_matches(description: str, policy: Policy) -> dict[str, tuple[str, ...]]:
    """Per text signal, the ids of the rules that matched (never the matched text)."""
    text = normalise(description)
    found: dict[str, list[str]] = defaultdict(list)
    if text:
        for rule in policy.text_rules:
            if re.search(rule.pattern, text):
                found[rule.signal].append(rule.id)
    return {signal: tuple(ids) for signal, ids in found.items()}


def report_triggers(report: IncidentReport, policy: Policy) -> dict[str, tuple[str, ...]]:
    """Every trigger the report fires, mapped to what it rests on (text-rule ids for text triggers)."""
    incident = report.incident
    fired: dict[str, tuple[str, ...]] = {}
    for name, ticked in incident.indicators.model_dump().items():
        if ticked:
            fired[f"indicator:{name}"] = ()
    for incident_type in incident.types:
        fired[f"type:{incident_type.value}"] = ()
    fired[f"channel:{incident.channel.value}"] = ()
    fired[f"perpetrator:{incident.perpetrator}"] = ()
    if incident.impact_on_functioning:
        fired["flag:impact_on_functioning"] = ()
    if report.wants_aangifte:
        fired["flag:wants_aangifte"] = ()
    for signal, rule_ids in text_matches(incident.description, policy).items():
        fired[f"text:{signal}"] = rule_ids
    return fired
