"""Hostile input against the real services: schemathesis on intake's and reporting's OpenAPI, rate limit, headers."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.result import Ok

from tests.support.auth import headers
from tests.support.samples import unique_body
from tests.support.services import RunningServices

pytestmark = pytest.mark.e2e

EXAMPLES_PER_OPERATION_AND_MODE = 20
BREAK_GLASS = {"X-Break-Glass-Reason": "schemathesis run"}


def _caller(method: str, path: str) -> dict[str, str]:
    """A caller each operation accepts, so the fuzzing reaches the validation and the handlers."""
    if path == "/v1/incidents":
        return headers("otwb", org="fuzz desk")  # a fresh subject per example: the rate limit stays out of the way
    if path.startswith("/v1/reports"):
        return headers("bzk")
    return {**headers("admin"), **BREAK_GLASS}


@pytest.mark.parametrize("service", ["intake", "reporting"])
def test_fuzzed_requests_never_crash_and_every_rejection_is_a_problem(services: RunningServices, service: str) -> None:
    base = services.url(service)
    schema = schemathesis.openapi.from_url(base + "/openapi.json")
    ran: list[str] = []
    findings: list[str] = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()
        if operation.path in ("/healthz", "/readyz", "/metrics"):
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz(operation, mode, base, ran, findings)
    print(f"\nschemathesis: {len(ran)} requests against {service}")
    assert ran
    assert not findings, "\n".join(findings[:20])


def _fuzz(operation: Any, mode: GenerationMode, base: str, ran: list[str], findings: list[str]) -> None:
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
        response = case.call(
            base_url=base, headers=_caller(case.operation.method.upper(), case.operation.path), timeout=15
        )
        ran.append(case.operation.label)
        findings.extend(_judge(f"{case.operation.label} ({mode.value})", response))

    try:
        run()
    except Unsatisfiable:
        if mode is GenerationMode.POSITIVE:
            raise
        # an operation without parameters or body (e.g. GET /v1/reports/monitor) has no invalid request to make


def _judge(where: str, response: Any) -> list[str]:
    """What is wrong with an answer: a 5xx, a rejection that is not problem+json, a stack trace."""
    status = response.status_code
    content_type = response.headers.get("content-type", [""])
    content_type = content_type[0] if isinstance(content_type, list) else content_type
    problems = []
    if status >= 500:
        problems.append(f"{where} -> {status}: {response.text[:300]}")
    elif status >= 400 and not content_type.startswith("application/problem+json"):
        problems.append(f"{where} -> {status}: rejection is {content_type or 'untyped'}, not problem+json")
    if "Traceback" in response.text:
        problems.append(f"{where} -> {status}: a stack trace leaked")
    return problems


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
