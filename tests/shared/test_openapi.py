"""Each service's OpenAPI document says what the service sends (``shared/web/openapi.py``; the committed documents,
which tests/shared/test_contract_artefacts.py keeps equal to the apps')."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from shared.web.http import PROBLEM
from shared.web.policy import ROLE_ACTIONS, Action
from weerbaar.artefacts import OPENAPI_DIR

DOCUMENTS = {path.stem: json.loads(path.read_text()) for path in sorted(OPENAPI_DIR.glob("*.json"))}
PROBLEM_CONTENT = {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}
OPERATORS = ("/healthz", "/readyz", "/metrics")
OWN_ERROR_PAGES = {("/readyz", "503"), ("/desk/incidents", "422")}
"""Not a problem: readiness answers its reasons in its own body; the desk's form comes back with what is wrong."""
FORM = "application/x-www-form-urlencoded"


def _operations() -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    for service, document in DOCUMENTS.items():
        for path, item in document["paths"].items():
            for method, operation in item.items():
                yield service, path, method, operation


def test_every_service_has_its_document() -> None:
    assert set(DOCUMENTS) == {"intake", "notify", "reporting", "triage"}
    assert all(
        d["components"]["schemas"]["Problem"]["required"] == ["type", "title", "status"] for d in DOCUMENTS.values()
    )


def test_every_error_is_documented_as_problem_json() -> None:
    for service, path, method, operation in _operations():
        for status, response in operation["responses"].items():
            if int(status) < 400 or (path, status) in OWN_ERROR_PAGES:
                continue
            assert response["content"] == PROBLEM_CONTENT, f"{service} {method} {path} {status}"
    assert not any("HTTPValidationError" in d["components"]["schemas"] for d in DOCUMENTS.values())


def test_secured_operations_name_the_roles_that_may_call_them_and_answer_401_403_and_503() -> None:
    secured = [(s, p, m, o) for s, p, m, o in _operations() if p not in OPERATORS]
    assert secured
    for service, path, method, operation in secured:
        where = f"{service} {method} {path}"
        form = operation.get("requestBody", {}).get("content", {}).get(FORM, {})
        assert operation.get("security") or "access_token" in form["schema"]["required"], where
        responses = operation["responses"]
        assert {"401", "403", "503"} <= set(responses), where
        assert responses["401"]["headers"]["WWW-Authenticate"]["required"] is True, where
        assert responses["503"]["headers"]["Retry-After"]["required"] is True, where
    incidents = DOCUMENTS["intake"]["paths"]["/v1/incidents"]["post"]
    assert incidents["security"] == [{"bearer": sorted(r.value for r in ROLE_ACTIONS[Action.REPORT_INCIDENT])}]
    assert incidents["responses"]["429"]["headers"]["Retry-After"]["required"] is True
    assert incidents["responses"]["201"]["headers"]["Location"]["required"] is True
    dashboard = DOCUMENTS["reporting"]["paths"]["/dashboard"]["get"]
    assert {name for need in dashboard["security"] for name in need} == {"bearer", "access_token"}
    bearer = DOCUMENTS["intake"]["components"]["securitySchemes"]["bearer"]
    assert (bearer["type"], bearer["scheme"], bearer["bearerFormat"]) == ("http", "bearer", "JWT")


@pytest.mark.parametrize(
    ("status", "needs"),
    [("422", "parameters or a body"), ("413", "a body"), ("400", "a JSON body"), ("404", "a path id")],
)
def test_validation_size_and_not_found_where_they_can_happen(status: str, needs: str) -> None:
    for service, path, method, operation in _operations():
        parameters = operation.get("parameters", [])
        applies = {
            "422": bool(parameters) or "requestBody" in operation,
            "413": "requestBody" in operation,
            "400": "application/json" in operation.get("requestBody", {}).get("content", {}),
            "404": any(p["in"] == "path" for p in parameters),
        }[status]
        assert (status in operation["responses"]) == applies, f"{service} {method} {path}: {status} iff {needs}"


def test_operators_endpoints_are_open_and_say_their_content_types() -> None:
    for service, document in DOCUMENTS.items():
        paths = document["paths"]
        assert all("security" not in paths[p]["get"] for p in OPERATORS), service
        assert set(paths["/metrics"]["get"]["responses"]["200"]["content"]) == {"text/plain"}, service
        assert set(paths["/healthz"]["get"]["responses"]["200"]["content"]) == {"application/json"}, service
        readyz = paths["/readyz"]["get"]["responses"]
        assert readyz["503"]["content"] == readyz["200"]["content"], "unready: the same body, status unready"


def test_pages_are_html_and_the_summary_also_csv() -> None:
    dashboard = DOCUMENTS["reporting"]["paths"]["/dashboard"]["get"]["responses"]["200"]["content"]
    aangifte = DOCUMENTS["notify"]["paths"]["/v1/notifications/{notification_id}/aangifte.html"]["get"]
    summary = DOCUMENTS["reporting"]["paths"]["/v1/reports/summary"]["get"]["responses"]["200"]["content"]
    assert set(dashboard) == set(aangifte["responses"]["200"]["content"]) == {"text/html"}
    assert set(summary) == {"application/json", "text/csv"}
