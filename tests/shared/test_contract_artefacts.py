"""The committed event schemas and AsyncAPI documents match the code (regenerate with `make docs`)."""

from __future__ import annotations

import json

from shared.contracts.artefacts import EVENT_MODELS, SCHEMA_DIR
from weerbaar.artefacts import ASYNCAPI_DIR, expected_artefacts


def test_committed_contract_artefacts_match_the_models() -> None:
    stale = [
        str(path.relative_to(SCHEMA_DIR.parents[2]))
        for path, text in expected_artefacts().items()
        if not path.exists() or path.read_text() != text
    ]
    assert not stale, f"out of date (run `make docs`): {stale}"


def test_every_event_type_has_a_schema_file() -> None:
    names = {p.name for p in SCHEMA_DIR.glob("*.json")}
    assert {f"{m.ce_type}.json" for m in EVENT_MODELS} == names


def test_asyncapi_documents_carry_the_contract_models_as_payloads() -> None:
    triage = json.loads((ASYNCAPI_DIR / "triage.json").read_text())
    payloads = {m["payload"]["$ref"].rsplit("/", 1)[-1] for m in triage["components"]["messages"].values()}
    assert payloads == {"IncidentReported", "CaseFollowup", "CaseTriaged", "CaseAssessed", "CaseErased"}
    addresses = {c["address"] for c in triage["channels"].values()}
    assert addresses == {
        "weerbaar.incident.reported.v1",
        "weerbaar.incident.urgent.v1",
        "weerbaar.case.followup.v1",
        "weerbaar.case.triaged.v1",
        "weerbaar.case.triaged.urgent.v1",
        "weerbaar.case.assessed.v1",
        "weerbaar.case.erased.v1",
    }
