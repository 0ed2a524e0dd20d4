"""Contract artefacts kept under version control: a JSON Schema per event type."""

from __future__ import annotations

import json
from pathlib import Path

from shared.contracts.events import (
    AcuteSignal,
    CaseErased,
    CaseFollowup,
    CaseTriaged,
    Envelope,
    IncidentReported,
    Notification,
    NotificationAck,
    NotificationStatus,
    PoliceNotification,
    ReportStats,
)
from shared.contracts.notifications import RECIPIENT_MODELS, EscalationNotice
from shared.contracts.workflow import CaseAssessed, CaseStageChanged, CaseWorkflow

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"

EVENT_MODELS: tuple[type[Envelope], ...] = (
    IncidentReported,
    CaseTriaged,
    Notification,
    PoliceNotification,
    NotificationStatus,
    NotificationAck,
    CaseFollowup,
    ReportStats,
    *(m for m in RECIPIENT_MODELS.values() if m is not PoliceNotification),
    EscalationNotice,
    CaseErased,
    AcuteSignal,
    CaseWorkflow,
    CaseAssessed,
    CaseStageChanged,
)


def event_schemas() -> dict[str, str]:
    """File name → JSON Schema text, one per event type (named by its CloudEvents type)."""
    out: dict[str, str] = {}
    for model in EVENT_MODELS:
        schema = model.model_json_schema()
        ce_type = model.ce_type
        schema["$id"] = f"https://weerbaar.example/schemas/{ce_type}.json"
        schema["x-ce-type"] = ce_type
        topic = getattr(model, "topic", None)
        if isinstance(topic, str):
            schema["x-topic"] = topic
        out[f"{ce_type}.json"] = json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return out
