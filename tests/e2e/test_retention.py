"""Retention on the real stack: a closed case is anonymised once its retention period has passed."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import httpx
import pytest
from pymongo.asynchronous.database import AsyncDatabase

from shared.store.mongo import Document
from tests.support.auth import headers
from tests.support.endpoints import Endpoints
from tests.support.samples import unique_body
from tests.support.services import RunningServices, free_port, service_env

pytestmark = pytest.mark.e2e

RETENTION_S = 3.0
BREAK_GLASS = {"X-Break-Glass-Reason": "retention test: is the closed case anonymised"}


async def test_the_retention_sweep_anonymises_a_closed_case_after_its_period(
    endpoints: Endpoints, store: AsyncDatabase[Document], tmp_path: Path
) -> None:
    """Intake alone, with a retention of three seconds: filed, closed, still whole, then anonymised by the sweep."""
    db = f"{store.name}_retention"
    port = free_port()
    env = service_env(
        kafka=endpoints.kafka_bootstrap,
        mongo=endpoints.mongodb_uri,
        db=db,
        group_prefix=f"retention-{uuid.uuid4().hex[:8]}",
        ports={"intake": port},
    )
    env["WEERBAAR_RETENTION_DAYS_CLOSED"] = str(RETENTION_S / 86400)
    env["WEERBAAR_RETENTION_SWEEP_INTERVAL_S"] = "0.5"
    intake = RunningServices(env=env, ports={"intake": port}, log_dir=tmp_path)
    intake.start("intake")
    sub = f"otwb-{uuid.uuid4().hex[:8]}"
    desk = headers("otwb", sub=sub, org="OTWB test desk")
    admin = {**headers("admin"), **BREAK_GLASS}
    try:
        intake.wait_ready(services=("intake",))
        async with httpx.AsyncClient(base_url=intake.url("intake"), timeout=10) as client:
            body = unique_body()
            name = body["office_holder"]["name"]
            filed = await client.post("/v1/incidents", json=body, headers={**desk, "Idempotency-Key": uuid.uuid4().hex})
            assert filed.status_code == 201, filed.text
            case_id = filed.json()["case_id"]
            closed = await client.post(f"/v1/cases/{case_id}/close", json={"reason": "afgehandeld"}, headers=desk)
            assert closed.status_code == 200, closed.text
            closed_at = time.monotonic()
            right_after = (await client.get(f"/v1/cases/{case_id}", headers=admin)).json()
            assert right_after["status"] == "closed"
            assert "erased" not in right_after or right_after["erased"] is None, "anonymised before its time"

            deadline = closed_at + RETENTION_S + 30
            case: dict[str, object] = {}
            while time.monotonic() < deadline:
                case = (await client.get(f"/v1/cases/{case_id}", headers=admin)).json()
                if case.get("erased"):
                    break
                await asyncio.sleep(0.3)
            assert case.get("erased"), f"not anonymised within 30 s after its retention period: {case}"
            assert time.monotonic() - closed_at >= RETENTION_S, "anonymised before the retention period passed"
            # the sweep audits each erasure right after saving it: wait for that entry before stopping intake
            while time.monotonic() < deadline and not await store.client[db]["audit"].find_one(
                {"case_id": case_id, "action": "case.erase"}
            ):
                await asyncio.sleep(0.3)
    finally:
        intake.stop_all()
    assert case["erased"]["reason"] == "retention"  # type: ignore[index]
    stored = await store.client[db]["cases"].find_one({"_id": case_id})
    assert stored is not None
    assert all(report["sealed"] == "erased" for report in stored["reports"])
    assert name not in str(stored)
    assert stored["filed_by_subs"] == []
    audit = await store.client[db]["audit"].find_one({"case_id": case_id, "action": "case.erase"})
    assert audit is not None
    assert audit["reason"] == "retention period passed"
    await store.client.drop_database(db)
