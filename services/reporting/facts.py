"""The reporting fact of a case, folded from events (pure: no I/O).

Every fold is idempotent and order-independent, so duplicates and out-of-order delivery leave the figures alone:
the triage part is replaced only by a later assessment (``assessment_no``, then event time); notification times keep
their minimum; follow-ups are a set keyed by event id whose furthest stage counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from services.reporting.geography import province_of
from shared.contracts.events import CaseFollowup, CaseTriaged, FollowupKind, NotificationState, NotificationStatus

LOCAL = ZoneInfo("Europe/Amsterdam")
ONLINE_CHANNELS = frozenset({"online"})
YES, NO = "ja", "nee"

# Follow-up stages, furthest last; an OM decision is refined by its (known) outcome.
NO_FOLLOWUP = "geen"
STAGES: dict[str, str] = {
    FollowupKind.AANGIFTE_REGISTERED.value: "aangifte_opgenomen",
    FollowupKind.MEASURE_TAKEN.value: "maatregel",
    FollowupKind.SUSPECT_IDENTIFIED.value: "verdachte_in_beeld",
    FollowupKind.OM_DECISION.value: "om_beslissing",
}
STAGE_ORDER = (NO_FOLLOWUP, *STAGES.values())
OM_OUTCOMES = frozenset({"dagvaarding", "strafbeschikking", "sepot", "transactie"})


def triage_fields(event: CaseTriaged) -> dict[str, Any]:
    """The triage part of a case's fact: no name, no free text, no body code; one keyed pseudonym."""
    facts = event.facts
    return {
        "assessment_no": event.assessment_no,
        "triaged_at": event.occurred,
        "office_holder_ref": facts.office_holder_ref,
        "role": facts.role.value,
        "gender": facts.gender.value,
        "types": sorted(t.value for t in facts.types),
        "channel": facts.channel.value,
        "level": event.level.value,
        "body_kind": facts.body_kind.value,
        "province": province_of(facts.body_kind.value, facts.body_code),
        "occurred_at": facts.occurred_at,
        "reported_at": facts.reported_at,
        "impact_on_functioning": facts.impact_on_functioning,
        "wants_aangifte": facts.wants_aangifte,
    }


def notification_time(event: NotificationStatus) -> tuple[str, datetime] | None:
    """Which first-time field this status may lower (``first_sent_at`` / ``first_ack_at``), if any."""
    if event.status is NotificationState.SENT:
        return "first_sent_at", event.occurred
    if event.status is NotificationState.ACKNOWLEDGED:
        return "first_ack_at", event.occurred
    return None


def followup_entry(event: CaseFollowup) -> dict[str, str]:
    """A follow-up reduced to what reporting may keep: its kind and a known outcome category, never free text."""
    outcome = event.outcome.strip().lower()
    return {
        "event_id": event.event_id,
        "kind": event.kind.value,
        "outcome": outcome if outcome in OM_OUTCOMES else "",
    }


@dataclass(frozen=True, slots=True)
class Fact:
    """One triaged case as the figures see it."""

    case_id: str
    office_holder_ref: str
    occurred_at: datetime
    dims: Mapping[str, str]
    types: tuple[str, ...]
    minutes_to_notification: float | None
    minutes_to_acknowledgement: float | None


def _minutes(start: datetime, end: datetime | None) -> float | None:
    if end is None:
        return None
    return max(0.0, (end - start).total_seconds() / 60)


def _rank(stage: str) -> tuple[int, str]:
    return STAGE_ORDER.index("om_beslissing" if stage.startswith("om_") else stage), stage


def followup_outcome(followups: list[Mapping[str, str]]) -> str:
    """The furthest follow-up stage of a case (an OM decision with a known outcome names it)."""
    stages = [NO_FOLLOWUP]
    for entry in followups:
        stage = STAGES.get(entry.get("kind", ""), NO_FOLLOWUP)
        if entry.get("kind") == FollowupKind.OM_DECISION.value and entry.get("outcome"):
            stage = f"om_{entry['outcome']}"
        stages.append(stage)
    return max(stages, key=_rank)


def fact_of(document: Mapping[str, Any]) -> Fact | None:
    """The fact of a stored projection document; None until the case's triage has been seen."""
    if "assessment_no" not in document:
        return None
    occurred: datetime = document["occurred_at"]
    local = occurred.astimezone(LOCAL)
    followups = list(document.get("followups") or [])
    kinds = {f.get("kind") for f in followups}
    reported: datetime = document["reported_at"]
    dims = {
        "period": f"{local.year:04d}-{local.month:02d}",
        "quarter": f"{local.year:04d}-Q{(local.month - 1) // 3 + 1}",
        "year": f"{local.year:04d}",
        "role": document["role"],
        "gender": document["gender"],
        "channel": document["channel"],
        "channel_group": "online" if document["channel"] in ONLINE_CHANNELS else "offline",
        "risk_level": document["level"],
        "body_kind": document["body_kind"],
        "province": document.get("province") or "onbekend",
        "impact_on_functioning": YES if document["impact_on_functioning"] else NO,
        "aangifte_wanted": YES if document["wants_aangifte"] else NO,
        "aangifte_filed": YES if FollowupKind.AANGIFTE_REGISTERED.value in kinds else NO,
        "followup_outcome": followup_outcome(followups),
    }
    return Fact(
        case_id=str(document["_id"]),
        office_holder_ref=document["office_holder_ref"],
        occurred_at=occurred,
        dims=dims,
        types=tuple(document["types"]),
        minutes_to_notification=_minutes(reported, document.get("first_sent_at")),
        minutes_to_acknowledgement=_minutes(reported, document.get("first_ack_at")),
    )
