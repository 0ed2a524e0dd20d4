"""Case-file decisions: opening a case, how each event changes it (pure, no I/O)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from enum import StrEnum
from typing import Any

from shared.contracts.events import CaseFollowup, CaseTriaged, Event, IncidentReported, NotificationStatus
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


def timeline_entry(event: Event, summary: str, **detail: Any) -> dict[str, Any]:
    return {
        "at": event.occurred,
        "event": type(event).__name__,
        "event_id": event.event_id,
        "summary": summary,
        **detail,
    }


def new_case(event: IncidentReported, *, now: datetime) -> dict[str, Any]:
    """The case document opened by a first report (without outbox and bookkeeping)."""
    return {
        "_id": event.case_id,
        "status": CaseStatus.RECEIVED.value,
        "created_at": now,
        "updated_at": now,
        "reports": [report_entry(event)],
        "risk": None,
        "notifications": {},
        "followups": [],
        "stage_times": {"received": event.occurred},
        "timeline": [timeline_entry(event, "Report received", source=event.source.value)],
    }


def report_entry(event: IncidentReported) -> dict[str, Any]:
    return {
        "report_id": event.report_id,
        "source": event.source.value,
        "received_at": event.occurred,
        "report": event.report.model_dump(mode="json"),
    }


def triaged_update(case: dict[str, Any], event: CaseTriaged) -> dict[str, Any]:
    """$set fields for a triage decision."""
    return {
        "status": advance(case["status"], CaseStatus.TRIAGED),
        "risk": {
            "assessment_no": event.assessment_no,
            "level": event.level.value,
            "score": event.score,
            "policy_version": event.policy_version,
            "factors": [f.model_dump() for f in event.factors],
            "routes": [r.model_dump(mode="json") for r in event.routes],
        },
        "stage_times.triaged": case.get("stage_times", {}).get("triaged") or event.occurred,
    }


def notification_update(case: dict[str, Any], event: NotificationStatus) -> dict[str, Any]:
    entry = {
        "notification_id": event.notification_id,
        "status": event.status.value,
        "level": event.level.value,
        "updated_at": event.occurred,
    }
    update: dict[str, Any] = {
        f"notifications.{event.recipient.value}": entry,
        "status": advance(case["status"], CaseStatus.NOTIFIED),
    }
    if not case.get("stage_times", {}).get("notified"):
        update["stage_times.notified"] = event.occurred
    return update


def followup_update(case: dict[str, Any], event: CaseFollowup) -> dict[str, Any]:
    return {"status": advance(case["status"], CaseStatus.IN_FOLLOW_UP)}
