"""What the committed contract artefacts must contain: event schemas, AsyncAPI and OpenAPI documents."""

from __future__ import annotations

import json
from pathlib import Path

from shared.contracts.artefacts import SCHEMA_DIR, event_schemas
from shared.messaging.asyncapi import document

ROOT = Path(__file__).resolve().parents[1]
ASYNCAPI_DIR = ROOT / "docs" / "asyncapi"
OPENAPI_DIR = ROOT / "docs" / "openapi"
CONTRACT_VERSION = "1.0.0"


def _service_documents() -> dict[Path, str]:
    from services.intake.app import create_app as intake_app
    from services.intake.settings import Settings as IntakeSettings
    from services.notify.app import create_app as notify_app
    from services.notify.settings import Settings as NotifySettings
    from services.reporting.app import create_app as reporting_app
    from services.reporting.settings import Settings as ReportingSettings
    from services.triage.app import create_app as triage_app
    from services.triage.settings import Settings as TriageSettings

    apps = {
        "intake": intake_app(IntakeSettings(dev_mode=True)),
        "triage": triage_app(TriageSettings(dev_mode=True)),
        "notify": notify_app(NotifySettings(dev_mode=True)),
        "reporting": reporting_app(ReportingSettings(dev_mode=True)),
    }
    files = {
        ASYNCAPI_DIR / f"{name}.json": _json(document(app.state.runtime, version=CONTRACT_VERSION))
        for name, app in apps.items()
    }
    files.update({OPENAPI_DIR / f"{name}.json": _json(app.openapi()) for name, app in apps.items()})
    return files


def _json(value: object) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def expected_artefacts() -> dict[Path, str]:
    """Path → exact content of every generated contract artefact."""
    files = {SCHEMA_DIR / name: text for name, text in event_schemas().items()}
    files.update(_service_documents())
    return files
