"""Valid sample bodies (the contract's minimal incident body, and variations)."""

from __future__ import annotations

import copy
import time
import uuid
from typing import Any

import httpx

from shared.contracts.incident import EXAMPLE_REPORT

CONTRACT_BODY: dict[str, Any] = EXAMPLE_REPORT


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


def critical_in(municipality: str) -> dict[str, Any]:
    """A wethouder of ``municipality`` visited at home with a weapon: critical, routed to its burgemeester too."""
    return body(
        **{
            "office_holder.name": f"Wethouder {uuid.uuid4().hex[:8]}",
            "office_holder.role": "wethouder",
            "office_holder.body": {"kind": "gemeente", "code": municipality},
            "incident.types": ["threat", "home_visit"],
            "incident.channel": "at_home",
            "incident.indicators": {"home_visited": True, "weapon_mentioned": True, "explicit_threat": True},
        }
    )


def notified(intake: str, case_id: str, caller: dict[str, str], *, timeout: float = 60) -> str:
    """The id of the notification the caller's role got of a case, once the case view shows it (polled)."""
    deadline = time.monotonic() + timeout
    while True:
        answer = httpx.get(f"{intake}/v1/cases/{case_id}", headers=caller, timeout=15)
        if answer.is_success and (answer.json().get("notification") or {}).get("notification_id"):
            return str(answer.json()["notification"]["notification_id"])
        assert time.monotonic() < deadline, f"case {case_id}: no notification in the caller's view: {answer.text}"
        time.sleep(0.3)
