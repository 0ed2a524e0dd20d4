"""Case-file decisions: opening a case, how each event changes it (pure, no I/O)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from shared.contracts.events import (
    CaseFollowup,
    CaseTriaged,
    Event,
    IncidentReported,
    NotificationStatus,
    ReportSource,
)
from shared.contracts.incident import IncidentReport


class CaseStatus(StrEnum):
    RECEIVED = "received"
    TRIAGED = "triaged"
    NOTIFIED = "notified"
    IN_FOLLOW_UP = "in_follow_up"
    CLOSED = "closed"


_ORDER = list(CaseStatus)


def advance(current: str, target: CaseStatus) -> str:
    """Status only moves forward; a late event never drags a case back."""
    return target.value if _ORDER.index(target) > _ORDER.index(CaseStatus(current)) else current


def body_fingerprint(report: IncidentReport) -> str:
    """Stable hash of a request body, to tell a retry from a different request under the same key."""
    canonical = json.dumps(report.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotency_id(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def dedup_key(office_holder_ref: str, report: IncidentReport) -> str:
    """Reports of one incident share it: same office holder, same channel, same day (UTC).

    The office holder and the griffie report the same threat with slightly different times and wording, so the key
    is deliberately coarse; two different incidents of one person on one day and channel become one case with two
    reports, which stays visible in the case file and loses nothing.
    """
    day = report.incident.occurred_at.astimezone(UTC).date().isoformat()
    return hashlib.sha256(f"{office_holder_ref}|{report.incident.channel.value}|{day}".encode()).hexdigest()


def report_event_id(report_id: str) -> str:
    """The event id of a report's IncidentReported: deterministic, so a retried request is deduplicated."""
    return hashlib.sha256(f"report|{report_id}".encode()).hexdigest()[:32]


def report_summary(event: IncidentReported, *, first: bool) -> str:
    reporter = event.report.reported_by
    who = "office holder" if reporter.kind.value == "self" else f"on behalf ({reporter.organisation})"
    via = "" if event.source is ReportSource.HTTP else f" via {event.source.value}"
    return f"{'Report' if first else 'Further report of the same incident'} received from {who}{via}"


def links_of(others: dict[str, list[str]]) -> list[dict[str, str]]:
    """Link entries for the case file: which earlier case, and why."""
    reasons = {"oh": "same office holder", "pp": "same known perpetrator"}
    seen: dict[str, dict[str, str]] = {}
    for key, case_ids in others.items():
        for case_id in case_ids:
            seen.setdefault(case_id, {"case_id": case_id, "reason": reasons[key.split(":", 1)[0]]})
    return list(seen.values())


def added_report_update(
    case: dict[str, Any],
    event: IncidentReported,
    links: list[dict[str, str]],
    filer: dict[str, str | None] | None = None,
) -> dict[str, Any]:
    known = {link["case_id"] for link in case.get("links", [])}
    update: dict[str, Any] = {"links": case.get("links", []) + [link for link in links if link["case_id"] not in known]}
    if filer and filer.get("sub"):
        update["filed_by_subs"] = list(dict.fromkeys([*case.get("filed_by_subs", []), filer["sub"]]))
    if filer and filer.get("org"):
        update["filed_by_orgs"] = list(dict.fromkeys([*case.get("filed_by_orgs", []), filer["org"]]))
    return update


def timeline_entry(event: Event, summary: str, **detail: Any) -> dict[str, Any]:
    return {
        "at": event.occurred,
        "event": type(event).__name__,
        "event_id": event.event_id,
        "summary": summary,
        **detail,
    }


Seal = Callable[[dict[str, Any]], str]
"""Encrypts a report (JSON-able) for the case it belongs to."""


def new_case(
    event: IncidentReported,
    *,
    now: datetime,
    links: list[dict[str, str]] | None = None,
    seal: Seal,
    filer: dict[str, str | None] | None = None,
) -> dict[str, Any]:
    """The case document opened by a first report (without outbox and bookkeeping)."""
    return {
        "_id": event.case_id,
        "status": CaseStatus.RECEIVED.value,
        "created_at": now,
        "updated_at": now,
        "body_code": event.report.office_holder.body.code,
        "filed_by_subs": [filer["sub"]] if filer and filer.get("sub") else [],
        "filed_by_orgs": [filer["org"]] if filer and filer.get("org") else [],
        "reports": [report_entry(event, seal=seal, filer=filer)],
        "risk": None,
        "notifications": {},
        "followups": [],
        "links": links or [],
        "stage_times": {"received": event.occurred},
        "timeline": [timeline_entry(event, report_summary(event, first=True), source=event.source.value)],
    }


def report_entry(event: IncidentReported, *, seal: Seal, filer: dict[str, str | None] | None = None) -> dict[str, Any]:
    """A report in the case file: the whole report sealed (encrypted), its non-personal facts in clear."""
    return {
        "report_id": event.report_id,
        "source": event.source.value,
        "received_at": event.occurred,
        "filed_by": filer,
        "facts": report_facts(event.report),
        "sealed": seal(event.report.model_dump(mode="json")),
    }


def report_facts(report: IncidentReport) -> dict[str, Any]:
    """What a report says that identifies no one: kept in clear for queries, reporting and after erasure."""
    incident = report.incident
    return {
        "reported_by": report.reported_by.kind.value,
        "reporting_organisation": report.reported_by.organisation,
        "office_holder_role": report.office_holder.role.value,
        "body": report.office_holder.body.model_dump(mode="json"),
        "gender": report.office_holder.gender.value,
        "occurred_at": incident.occurred_at.isoformat(),
        "types": [t.value for t in incident.types],
        "channel": incident.channel.value,
        "perpetrator": incident.perpetrator,
        "indicators": incident.indicators.model_dump(mode="json"),
        "impact_on_functioning": incident.impact_on_functioning,
        "wants_aangifte": report.wants_aangifte,
        "attachments": len(report.attachments),
    }


ERASED = "erased"


def erasure_update(case: dict[str, Any], *, at: datetime, reason: str) -> dict[str, Any]:
    """$set fields that replace every report's sealed personal data with a tombstone; the facts stay."""
    update: dict[str, Any] = {"erased": {"at": at, "reason": reason}, "filed_by_subs": [], "filed_by_orgs": []}
    for index, _ in enumerate(case.get("reports", [])):
        update[f"reports.{index}.sealed"] = ERASED
        update[f"reports.{index}.filed_by"] = None
    return update


def filer_subs(case: dict[str, Any]) -> list[str]:
    """Who filed the case's reports (kept after erasure in the audit only)."""
    return [str(s) for s in case.get("filed_by_subs", [])]


def triaged_update(case: dict[str, Any], event: CaseTriaged) -> dict[str, Any]:
    """$set fields for a triage decision; an older assessment arriving late does not replace a newer one."""
    update: dict[str, Any] = {
        "status": advance(case["status"], CaseStatus.TRIAGED),
        "stage_times.triaged": case.get("stage_times", {}).get("triaged") or event.occurred,
    }
    current = case.get("risk") or {}
    if int(current.get("assessment_no", 0)) >= event.assessment_no:
        return update
    update["risk"] = {
        "assessment_no": event.assessment_no,
        "level": event.level.value,
        "score": event.score,
        "policy_version": event.policy_version,
        "factors": [f.model_dump() for f in event.factors],
        "routes": [r.model_dump(mode="json") for r in event.routes],
    }
    return update


_NOTIFICATION_RANK = {"failed": 0, "sent": 1, "escalated": 2, "acknowledged": 3}


def notification_update(case: dict[str, Any], event: NotificationStatus) -> dict[str, Any]:
    """Record a notification's state; a late 'sent' never overwrites 'acknowledged' of the same notification."""
    update: dict[str, Any] = {"status": advance(case["status"], CaseStatus.NOTIFIED)}
    current = case.get("notifications", {}).get(event.recipient.value)
    newer = (
        current is None
        or current.get("notification_id") != event.notification_id
        or _NOTIFICATION_RANK.get(event.status.value, 1) >= _NOTIFICATION_RANK.get(str(current.get("status")), 1)
    )
    if newer:
        update[f"notifications.{event.recipient.value}"] = {
            "notification_id": event.notification_id,
            "status": event.status.value,
            "level": event.level.value,
            "updated_at": event.occurred,
        }
    if not case.get("stage_times", {}).get("notified"):
        update["stage_times.notified"] = event.occurred
    return update


def followup_update(case: dict[str, Any], event: CaseFollowup) -> dict[str, Any]:
    update: dict[str, Any] = {"status": advance(case["status"], CaseStatus.IN_FOLLOW_UP)}
    if not case.get("stage_times", {}).get("in_follow_up"):
        update["stage_times.in_follow_up"] = event.occurred
    return update
