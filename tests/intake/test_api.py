"""The intake HTTP contract: 201 with a case id, idempotency, problem+json errors."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.support.auth import DeskAuth
from tests.support.samples import unique_body
from tests.support.services import RunningServices

pytestmark = pytest.mark.e2e

PROBLEM = "application/problem+json"


@pytest.fixture
async def client(services: RunningServices) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=services.url("intake"), timeout=10, auth=DeskAuth()) as http:
        yield http


async def test_same_key_and_body_give_the_same_case(client: httpx.AsyncClient) -> None:
    key = uuid.uuid4().hex
    report = unique_body()
    first = await client.post("/v1/incidents", json=report, headers={"Idempotency-Key": key})
    again = await client.post("/v1/incidents", json=report, headers={"Idempotency-Key": key})
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["case_id"] == first.json()["case_id"]
    case = (await client.get(f"/v1/cases/{first.json()['case_id']}")).json()
    assert len(case["reports"]) == 1


async def test_same_key_with_another_body_is_a_conflict(client: httpx.AsyncClient) -> None:
    key = uuid.uuid4().hex
    first = unique_body()
    await client.post("/v1/incidents", json=first, headers={"Idempotency-Key": key})
    other = {**first, "wants_aangifte": False}
    response = await client.post("/v1/incidents", json=other, headers={"Idempotency-Key": key})
    assert response.status_code == 409
    assert response.headers["content-type"] == PROBLEM


async def test_reports_of_different_office_holders_open_different_cases(client: httpx.AsyncClient) -> None:
    first = await client.post("/v1/incidents", json=unique_body())
    second = await client.post("/v1/incidents", json=unique_body())
    assert first.status_code == second.status_code == 201
    assert first.json()["case_id"] != second.json()["case_id"]


async def test_invalid_body_lists_the_fields_at_fault(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/incidents", json=unique_body(**{"incident.types": [], "office_holder.role": "koning"})
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    fields = {error["field"] for error in response.json()["errors"]}
    assert {"incident.types", "office_holder.role"} <= fields


async def test_body_over_the_limit_is_refused_with_413(client: httpx.AsyncClient) -> None:
    huge = unique_body(**{"incident.description": "x" * 400_000})
    response = await client.post("/v1/incidents", json=huge)
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM


async def test_unknown_case_is_a_404_problem(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/v1/cases/{uuid.uuid4().hex}")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM


async def test_every_service_reports_health_readiness_and_metrics(services: RunningServices) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        for service in ("intake", "triage", "notify", "reporting"):
            base = services.url(service)
            assert (await http.get(base + "/healthz")).status_code == 200
            ready = await http.get(base + "/readyz")
            assert ready.status_code == 200, ready.text
            metrics = await http.get(base + "/metrics")
            assert metrics.headers["content-type"].startswith("text/plain")
            assert "# TYPE weerbaar_messages_total counter" in metrics.text
