"""The stream during the faults: HTTP reports from a few clients, a bulk feed, and 1% malformed records."""

from __future__ import annotations

import asyncio
import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer

from shared.contracts import topics
from shared.contracts.envelope import to_record
from shared.contracts.events import IncidentReported, ReportSource, new_id
from shared.contracts.incident import IncidentReport
from shared.messaging.kafka_auth import operator_options
from tests.support.auth import DeskAuth
from tests.support.samples import unique_body

RETRY_FOR_S = 240.0


def varied_body(rng: random.Random) -> dict[str, Any]:
    """Different risk levels, so different routes."""
    if rng.random() < 0.3:
        return unique_body(
            **{
                "incident.indicators": {"home_visited": True, "weapon_mentioned": True, "explicit_threat": True},
                "incident.types": ["threat", "home_visit"],
            }
        )
    if rng.random() < 0.5:
        return unique_body(
            **{"incident.indicators": {}, "wants_aangifte": False, "incident.impact_on_functioning": False}
        )
    return unique_body()


@dataclass
class Ledger:
    """What the stream handed over, and what came back."""

    http: dict[str, str] = field(default_factory=dict)  # report_id -> case_id, for every 201/200
    bulk: dict[str, str] = field(default_factory=dict)  # report_id -> case_id, every acknowledged bulk record
    malformed: set[str] = field(default_factory=set)  # ce_id of every malformed record acknowledged by the broker
    given_up: int = 0
    retries: Counter[str] = field(default_factory=Counter)


async def _post(client: httpx.AsyncClient, body: dict[str, Any], ledger: Ledger) -> None:
    key = str(uuid.uuid4())
    deadline = time.monotonic() + RETRY_FOR_S
    while time.monotonic() < deadline:
        try:
            response = await client.post("/v1/incidents", json=body, headers={"Idempotency-Key": key}, timeout=15)
        except httpx.HTTPError as exc:
            ledger.retries[type(exc).__name__] += 1
        else:
            if response.status_code in (200, 201):
                answer = response.json()
                ledger.http[answer["report_id"]] = answer["case_id"]
                return
            if response.status_code in (400, 401, 403, 409, 422):
                raise AssertionError(f"intake refused a valid report: {response.status_code} {response.text}")
            ledger.retries[str(response.status_code)] += 1
        await asyncio.sleep(0.3)
    ledger.given_up += 1


async def _send(producer: AIOKafkaProducer, topic: str, key: bytes, value: bytes, headers: list[Any]) -> None:
    deadline = time.monotonic() + RETRY_FOR_S
    while True:
        try:
            await asyncio.wait_for(producer.send_and_wait(topic, value, key=key, headers=headers), 15)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


async def _bulk(producer: AIOKafkaProducer, rng: random.Random, ledger: Ledger) -> None:
    event = IncidentReported(
        case_id=new_id(), source=ReportSource.BULK, report=IncidentReport.model_validate(varied_body(rng))
    )
    record = to_record(event, source="/weerbaar/chaos-bulk-feed")
    await _send(producer, record.topic, record.key, record.value, list(record.headers.items()))
    ledger.bulk[event.report_id] = event.case_id


async def _malformed(producer: AIOKafkaProducer, n: int, ledger: Ledger) -> None:
    ce_id = f"malformed-{uuid.uuid4().hex[:12]}-{n}"
    if n % 2:
        value = b'{"schema_version": 1, "case_id": "nope"'  # broken JSON with the right type header
    else:
        value = b'{"schema_version": 1, "case_id": "not-a-report-at-all"}'  # valid JSON, wrong schema
    headers = [("ce_id", ce_id.encode()), ("ce_type", IncidentReported.ce_type.encode())]
    await _send(producer, topics.INCIDENT_REPORTED, ce_id.encode(), value, headers)
    ledger.malformed.add(ce_id)


async def stream(
    *,
    intake_url: str,
    bootstrap: str,
    reports: int,
    clients: int,
    bulk_share: float,
    seed: int,
    abort: threading.Event | None = None,
    min_duration_s: float = 0.0,
) -> Ledger:
    """Send ``reports`` reports: a share as bulk records, the rest over HTTP; 1% extra malformed records."""
    rng = random.Random(seed)
    ledger = Ledger()
    kinds = ["bulk" if rng.random() < bulk_share else "http" for _ in range(reports)]
    jobs: asyncio.Queue[tuple[str, int]] = asyncio.Queue()
    for n, kind in enumerate(kinds):
        jobs.put_nowait((kind, n))
        if n % 100 == 50:
            jobs.put_nowait(("malformed", n))
    pace_s = clients * min_duration_s / max(jobs.qsize(), 1)  # spread the stream over the fault schedule
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, enable_idempotence=True, request_timeout_ms=10_000, **operator_options()
    )
    await _send_ready(producer)

    async def worker(client: httpx.AsyncClient) -> None:
        while not jobs.empty() and not (abort and abort.is_set()):
            kind, n = jobs.get_nowait()
            if kind == "http":
                await _post(client, varied_body(rng), ledger)
            elif kind == "bulk":
                await _bulk(producer, rng, ledger)
            else:
                await _malformed(producer, n, ledger)
            await asyncio.sleep(pace_s)

    try:
        async with httpx.AsyncClient(base_url=intake_url, auth=DeskAuth()) as client:
            await asyncio.gather(*(worker(client) for _ in range(clients)))
    finally:
        await producer.stop()
    return ledger


async def _send_ready(producer: AIOKafkaProducer) -> None:
    for _ in range(60):
        try:
            await producer.start()
            return
        except Exception:  # noqa: BLE001 - the broker may be restarting at this very moment
            await asyncio.sleep(1)
    await producer.start()
