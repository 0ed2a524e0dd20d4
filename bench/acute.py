"""Acute lane: with a backlog of routine reports in flight, how fast does a critical report reach the police topic."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from dataclasses import dataclass

import httpx
from rich.progress import Progress

from bench.auth import reporter_tokens
from bench.config import BenchSettings
from bench.pipeline import routine_records, send_all
from shared.contracts.topics import Recipient, notify_topic
from tests.support.probe import TopicProbe
from weerbaar import demo


@dataclass
class AcuteResult:
    backlog: int
    latencies_ms: list[float]
    timeouts: int

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def run_acute(settings: BenchSettings, progress: Progress) -> AcuteResult:
    police = notify_topic(Recipient.POLICE)
    probe = TopicProbe(settings.kafka_bootstrap, [police])
    await probe.start()
    prefix = f"backlog{uuid.uuid4().hex[:8]}"
    task = progress.add_task("acute lane: backlog", total=settings.bench_backlog)
    if settings.bench_backlog:
        await send_all(settings.kafka_bootstrap, routine_records(settings.bench_backlog, prefix, seed=17))
    progress.update(task, completed=settings.bench_backlog)
    rng = random.Random(19)
    latencies: list[float] = []
    timeouts = 0
    tokens = reporter_tokens(settings.bench_acute_probes)
    probes = progress.add_task("acute lane: critical reports", total=settings.bench_acute_probes)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.intake_port}", timeout=30) as client:
            for _ in range(settings.bench_acute_probes):
                started = time.perf_counter()
                try:
                    response = await client.post(
                        "/v1/incidents",
                        json=demo.incident(rng, acute=True),
                        headers={"Authorization": f"Bearer {next(tokens)}"},
                    )
                    response.raise_for_status()
                except httpx.HTTPError:
                    timeouts += 1  # not even accepted within the client's timeout: counts as a miss
                    progress.advance(probes)
                    continue
                case_id = response.json()["case_id"]
                try:
                    await probe.wait_for(police, case_id, timeout=20)
                    latencies.append((time.perf_counter() - started) * 1000)
                except AssertionError:
                    timeouts += 1
                progress.advance(probes)
                await asyncio.sleep(0.2)
    finally:
        await probe.stop()
    return AcuteResult(settings.bench_backlog, latencies, timeouts)
