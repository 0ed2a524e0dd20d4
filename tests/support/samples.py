"""Valid sample bodies (the contract's minimal incident body, and variations)."""

from __future__ import annotations

import copy
import uuid
from typing import Any

CONTRACT_BODY: dict[str, Any] = {
    "reported_by": {"kind": "self"},
    "office_holder": {
        "name": "A. Voorbeeld",
        "role": "raadslid",
        "body": {"kind": "gemeente", "code": "GM0344"},
        "gender": "vrouw",
        "contact": {"email": "s.devries@example.nl"},
    },
    "incident": {
        "occurred_at": "2026-11-20T21:30:00+01:00",
        "types": ["threat"],
        "channel": "online",
        "description": "Bericht op sociale media: 'we weten waar je woont'",
        "indicators": {"home_address_known": True, "explicit_threat": True},
        "impact_on_functioning": True,
    },
    "wants_aangifte": True,
}


def body(**changes: Any) -> dict[str, Any]:
    """The contract body with dotted-path changes, e.g. body(**{"incident.channel": "phone"})."""
    result = copy.deepcopy(CONTRACT_BODY)
    for path, value in changes.items():
        target = result
        *parents, leaf = path.split(".")
        for part in parents:
            target = target[part]
        target[leaf] = value
    return result


def unique_body(**changes: Any) -> dict[str, Any]:
    """The contract body for an office holder of its own, so reports of different tests never merge."""
    name = f"T. Test-{uuid.uuid4().hex[:10]}"
    return body(**{"office_holder.name": name, **changes})


def acute_body() -> dict[str, Any]:
    """A report that triage rates critical (a home visit with a weapon and intent to approach): the acute lane."""
    return unique_body(
        **{
            "incident.indicators": {"home_visited": True, "weapon_mentioned": True, "approach_intent": True},
            "incident.types": ["threat", "home_visit"],
            "incident.channel": "at_home",
        }
    )
