"""Hostile input against the real services: schemathesis with its conformance checks on every service's OpenAPI
document (status codes, content types, response schemas and headers as documented, no 5xx), rate limit, headers."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.auth import headers, token
from tests.support.samples import notified, unique_body
from tests.support.services import RunningServices

pytestmark = pytest.mark.e2e

EXAMPLES_PER_OPERATION_AND_MODE = 12
BREAK_GLASS = {"X-Break-Glass-Reason": "schemathesis run"}
# The checks of what is documented; positive_data_acceptance is not one of them (a request valid by the schema may be
# refused by the rules behind it), nor negative_data_rejection (the test adds the caller's token to every request).
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
ROUTED_TO = "police"  # the subjects' cases are routed to the police, whose token acts on them
CALLERS = ("police", "otwb", "bzk", "admin")
"""The first of these that an operation's security requirement admits calls it (its roles are in the document)."""


@dataclass
class Subjects:
    """Real resources for the generated requests to reach, so they take the 2xx paths and not only 404."""

    filer_sub: str
    cases: dict[str, str]  # operation label -> a case of its own, filed by ``filer_sub``, routed to the police
    notification_id: str  # the police notification (with its modelaangifte) of one of them
    answered: dict[str, Counter[int]] = field(default_factory=dict)
    uses: itertools.count[int] = field(default_factory=itertools.count)


@pytest.fixture(scope="module")
def subjects(services: RunningServices) -> Subjects:
    intake = services.url("intake")
    filer_sub = f"schemathesis-otwb-{uuid.uuid4().hex[:8]}"
    labels = _case_operations(services)

    async def file() -> list[str]:
        async with httpx.AsyncClient(base_url=intake, timeout=15) as client:
            desk = headers("otwb", sub=filer_sub, org="OTWB")
            created = await asyncio.gather(
                *(client.post("/v1/incidents", json=unique_body(), headers=desk) for _ in labels)
            )
        assert all(c.status_code == 201 for c in created), [c.text for c in created]
        return [c.json()["case_id"] for c in created]

    cases = dict(zip(labels, asyncio.run(file()), strict=True))
    police = headers(ROUTED_TO, org="Politie")
    notifications = [notified(intake, case_id, police) for case_id in cases.values()]  # each routed to the police
    return Subjects(filer_sub=filer_sub, cases=cases, notification_id=notifications[0])


def _case_operations(services: RunningServices) -> list[str]:
    document = httpx.get(services.url("intake") + "/openapi.json", timeout=15).json()
    return [
        f"{method.upper()} {path}" for path, item in document["paths"].items() for method in item if "{case_id}" in path
    ]


@pytest.mark.parametrize("service", ["intake", "notify", "reporting", "triage"])
def test_every_answer_is_as_documented_and_none_is_a_server_error(
    services: RunningServices, subjects: Subjects, service: str
) -> None:
    """Positive and negative requests for every operation, as a caller the operation admits, on real cases and
    notifications; each answer checked against the document: its status, content type, schema and headers."""
    base = services.url(service)
    document = httpx.get(base + "/openapi.json", timeout=15).json()
    schema = schemathesis.openapi.from_dict(document)
    findings: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz(service, operation, mode, base, document, subjects, findings)
    answered = {label: dict(codes) for label, codes in subjects.answered.items() if label.startswith(service)}
    print(f"\nschemathesis against {service}: {answered}")
    assert operations
    assert not findings, "\n".join(findings[:10])
    never_succeeded = [label for label, codes in answered.items() if not any(200 <= c < 400 for c in codes)]
    assert not never_succeeded, f"never answered 2xx or 303 (the fuzzing reached only refusals): {never_succeeded}"


def _fuzz(
    service: str,
    operation: Any,
    mode: GenerationMode,
    base: str,
    document: dict[str, Any],
    subjects: Subjects,
    found: list[str],
) -> None:
    method, path = operation.method.upper(), operation.path
    label = f"{service} {method} {path}"
    requirements = document["paths"][path][method.lower()].get("security", [])
    roles = {role for need in requirements for listed in need.values() for role in listed}

    @settings(
        max_examples=EXAMPLES_PER_OPERATION_AND_MODE,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        if mode is GenerationMode.POSITIVE:
            if next(subjects.uses) % 2 == 0:
                _aim_at_subjects(case, method, path, subjects)  # every other positive request: a real case
            if isinstance(case.body, dict) and "access_token" in case.body:  # the desk's forms carry the token
                case.body["access_token"] = token("otwb", sub=subjects.filer_sub, org="OTWB")
        caller = _caller(roles, method, path, subjects)
        response = case.call(base_url=base, headers=caller, timeout=15, allow_redirects=False)
        subjects.answered.setdefault(label, Counter())[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as failures:
            found.append(f"{label} ({mode.value}) -> {response.status_code}: {failures}")
        if "Traceback" in response.text:
            found.append(f"{label} ({mode.value}) -> {response.status_code}: a stack trace leaked")

    try:
        run()
    except Unsatisfiable:
        if mode is GenerationMode.POSITIVE:
            raise
        # an operation without parameters or body (e.g. GET /v1/reports/monitor) has no invalid request to make


def _aim_at_subjects(case: Any, method: str, path: str, subjects: Subjects) -> None:
    if "case_id" in case.path_parameters:
        case.path_parameters["case_id"] = subjects.cases[f"{method} {path}"]
    if "notification_id" in case.path_parameters:
        case.path_parameters["notification_id"] = subjects.notification_id
    if isinstance(case.query, dict) and "case_id" in case.query:
        case.query["case_id"] = next(iter(subjects.cases.values()))


def _caller(roles: set[str], method: str, path: str, subjects: Subjects) -> dict[str, str]:
    """A caller the operation admits (none for the operations of operators: health, readiness, metrics)."""
    role = next((r for r in CALLERS if r in roles), None)
    if role is None:
        assert not roles, f"{method} {path}: no test caller among {roles}"
        return {}
    if role == "otwb":
        # the filer of the subjects (it reads them on the desk, erases its own reports); a fresh subject per report
        # (no rate limit)
        return headers("otwb", sub=None if path == "/v1/incidents" else subjects.filer_sub, org="OTWB")
    if role == "admin":
        return {**headers("admin"), **BREAK_GLASS}
    return {"Authorization": f"Bearer {token(role, org='Politie' if role == 'police' else None)}"}


async def test_reporting_is_rate_limited_per_token_with_retry_after(services: RunningServices) -> None:
    mine = headers("otwb", org="busy desk")
    other = headers("otwb", org="quiet desk")
    async with httpx.AsyncClient(base_url=services.url("intake"), timeout=10) as client:
        codes = []
        for _ in range(400):  # the test stack allows 300 a minute (WEERBAAR_RATE_LIMIT_PER_MINUTE)
            response = await client.post("/v1/incidents", json={"not": "a report"}, headers=mine)
            codes.append(response.status_code)
            if response.status_code == 429:
                break
        assert codes[-1] == 429, codes[-5:]
        assert set(codes[:-1]) == {422}
        assert response.headers["content-type"] == "application/problem+json"
        assert int(response.headers["retry-after"]) >= 1
        fine = await client.post("/v1/incidents", json=unique_body(), headers=other)
        assert fine.status_code == 201, "another caller is not throttled"


async def test_pages_and_answers_carry_security_headers(services: RunningServices) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        api = await client.get(services.url("intake") + f"/v1/cases/{uuid.uuid4().hex}", headers=headers("police"))
        docs = await client.get(services.url("reporting") + "/docs")
    for response in (api, docs):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert docs.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in docs.headers["content-security-policy"]
