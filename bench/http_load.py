"""HTTP intake under load: closed-loop throughput with concurrent clients, and latency at a fixed request rate."""

from __future__ import annotations

import asyncio
import random
import statistics
import time
import uuid
from dataclasses import dataclass

import httpx

from bench.auth import reporter_tokens
from bench.config import BenchSettings
from weerbaar import demo


@dataclass
class HttpResult:
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]
    late: int = 0
    """Requests not answered within the deadline: they count in the percentiles as the deadline itself."""

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else 0.0


TOKENS = reporter_tokens(400)


async def _post(
    client: httpx.AsyncClient, body: dict[str, object], out: list[float], *, deadline_s: float | None = None
) -> bool | None:
    """True when accepted, False on an error, None when the deadline passed first (its latency: the deadline)."""
    headers = {"Idempotency-Key": uuid.uuid4().hex, "Authorization": f"Bearer {next(TOKENS)}"}
    started = time.perf_counter()
    try:
        response = await asyncio.wait_for(client.post("/v1/incidents", json=body, headers=headers), deadline_s)
    except TimeoutError:
        out.append(1000 * (deadline_s or 0.0))
        return None
    except httpx.HTTPError:
        return False  # counted as an error; its latency is not a latency
    out.append((time.perf_counter() - started) * 1000)
    return response.status_code in (200, 201)


async def closed_loop(settings: BenchSettings) -> HttpResult:
    """As many requests as `concurrency` clients can make, back to back."""
    rng = random.Random(11)
    bodies = [demo.incident(rng, acute=False) for _ in range(settings.bench_http_requests)]
    latencies: list[float] = []
    queue: asyncio.Queue[dict[str, object]] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    errors = 0

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while not queue.empty():
            if not await _post(client, queue.get_nowait(), latencies):
                errors += 1

    limits = httpx.Limits(max_connections=settings.bench_http_concurrency)
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{settings.intake_port}", timeout=30, limits=limits
    ) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(settings.bench_http_concurrency)))
        seconds = time.perf_counter() - started
    return HttpResult(len(bodies), errors, seconds, latencies)


async def fixed_rate(settings: BenchSettings) -> HttpResult:
    """Requests started at a fixed rate (open loop), so latency is measured at that offered load.

    Each request has a deadline: a store that cannot keep up would otherwise stretch this phase to many minutes.
    """
    rng = random.Random(13)
    total = int(settings.bench_http_rate * settings.bench_http_seconds)
    bodies = [demo.incident(rng, acute=False) for _ in range(total)]
    latencies: list[float] = []
    interval = 1.0 / settings.bench_http_rate
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{settings.intake_port}", timeout=30, limits=httpx.Limits(max_connections=200)
    ) as client:
        started = time.perf_counter()
        pending = []
        for i, body in enumerate(bodies):
            delay = started + i * interval - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            post = _post(client, body, latencies, deadline_s=settings.bench_http_deadline_s)
            pending.append(asyncio.create_task(post))
        results = await asyncio.gather(*pending)
        seconds = time.perf_counter() - started
    late = sum(1 for ok in results if ok is None)
    return HttpResult(total, sum(1 for ok in results if ok is False), seconds, latencies, late=late)
