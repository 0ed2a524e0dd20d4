"""Acute lane: with a backlog of routine reports in flight, how fast does a critical report reach the police topic.

Each probe is timed end to end (POST sent → its record seen on ``notify.police.v1``) and split into hops by the
timestamps of its records on the acute lane (producer create time, same clock: everything runs on one machine):
accepted (the POST answered), ``incident.urgent.v1`` (intake published), ``case.triaged.urgent.v1`` (triage
published), ``notify.police.v1`` (notify published).
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from dataclasses import dataclass, field

import httpx
from rich.progress import Progress

from bench.auth import reporter_tokens
from bench.config import BenchSettings
from bench.pipeline import routine_records, send_all
from bench.rss import peak_rss_mb
from shared.contracts.topics import CASE_TRIAGED_URGENT, INCIDENT_URGENT, Recipient, notify_topic
from tests.support.probe import TopicProbe
from weerbaar import demo

POLICE = notify_topic(Recipient.POLICE)
HOPS = ("accepted", "intake→urgent", "triage", "notify", "seen by probe")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


@dataclass
class AcuteResult:
    backlog: int
    latencies_ms: list[float]
    timeouts: int
    hops_ms: dict[str, list[float]] = field(default_factory=lambda: {hop: [] for hop in HOPS})
    probes: list[dict[str, float]] = field(default_factory=list)
    """Per probe: its total and its hops (ms), in the order sent."""
    escalated: int = 0
    """Other cases triage sent down the acute lane while the probes ran (the backlog's high and critical ones): acute
    work beside the probes', which the acute gate cannot put behind them."""
    rss_max_mb: dict[str, float] = field(default_factory=dict)
    """Per service: the most RSS sampled during the phase (the backlog in flight all along)."""

    def pct(self, q: float) -> float:
        return percentile(self.latencies_ms, q)

    def hop_summary(self) -> dict[str, dict[str, float]]:
        return {
            hop: {"p50_ms": percentile(values, 0.5), "max_ms": max(values, default=float("nan"))}
            for hop, values in self.hops_ms.items()
        }


def _first_ms(probe: TopicProbe, topic: str, case_id: str) -> float | None:
    seen = probe.all(topic, case_id)
    return min(s.timestamp_ms for s in seen) if seen else None


async def run_acute(settings: BenchSettings, progress: Progress) -> AcuteResult:
    async with peak_rss_mb(settings.state_dir) as peaks:
        result = await _backlog_and_probes(settings, progress)
    result.rss_max_mb = dict(peaks)
    return result


async def _backlog_and_probes(settings: BenchSettings, progress: Progress) -> AcuteResult:
    probe = TopicProbe(settings.kafka_bootstrap, [POLICE, INCIDENT_URGENT, CASE_TRIAGED_URGENT])
    await probe.start()
    prefix = f"backlog{uuid.uuid4().hex[:8]}"
    task = progress.add_task("acute lane: backlog", total=settings.bench_backlog)
    if settings.bench_backlog:
        below_high = settings.bench_backlog_mix == "routine"
        backlog = routine_records(settings.bench_backlog, prefix, seed=17, below_high=below_high)
        await send_all(settings.kafka_bootstrap, backlog)
    progress.update(task, completed=settings.bench_backlog)
    rng = random.Random(19)
    result = AcuteResult(settings.bench_backlog, [], 0)
    tokens = reporter_tokens(settings.bench_acute_probes)
    probed: set[str] = set()
    probes = progress.add_task("acute lane: critical reports", total=settings.bench_acute_probes)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.intake_port}", timeout=30) as client:
            for _ in range(settings.bench_acute_probes):
                sent_at = time.time() * 1000
                started = time.perf_counter()
                try:
                    response = await client.post(
                        "/v1/incidents",
                        json=demo.incident(rng, acute=True),
                        headers={"Authorization": f"Bearer {next(tokens)}"},
                    )
                    response.raise_for_status()
                except httpx.HTTPError:
                    result.timeouts += 1  # not even accepted within the client's timeout: counts as a miss
                    progress.advance(probes)
                    continue
                accepted_at = time.time() * 1000
                case_id = response.json()["case_id"]
                probed.add(case_id)
                try:
                    await probe.wait_for(POLICE, case_id, timeout=20)
                except AssertionError:
                    result.timeouts += 1
                else:
                    result.latencies_ms.append((time.perf_counter() - started) * 1000)
                    _record_hops(result, probe, case_id, sent_at=sent_at, accepted_at=accepted_at)
                progress.advance(probes)
                await asyncio.sleep(0.2)
        result.escalated = len(probe.keys(CASE_TRIAGED_URGENT) - probed)
    finally:
        await probe.stop()
    return result


def _record_hops(result: AcuteResult, probe: TopicProbe, case_id: str, *, sent_at: float, accepted_at: float) -> None:
    urgent = _first_ms(probe, INCIDENT_URGENT, case_id)
    triaged = _first_ms(probe, CASE_TRIAGED_URGENT, case_id)
    police = _first_ms(probe, POLICE, case_id)
    if urgent is None or triaged is None or police is None:
        return  # the lane was bypassed (e.g. left to the main topic): only the total counts
    total = result.latencies_ms[-1]
    hops = {
        "accepted": accepted_at - sent_at,
        "intake→urgent": urgent - sent_at,
        "triage": triaged - urgent,
        "notify": police - triaged,
        "seen by probe": sent_at + total - police,
    }
    for hop, ms in hops.items():
        result.hops_ms[hop].append(ms)
    result.probes.append({"total": total, **hops})


def main() -> None:
    """``python -m bench.acute``: the acute phase alone (after ``make up``), for quick iterations."""
    import json

    from rich.console import Console

    settings = BenchSettings()
    console = Console()
    with Progress(console=console) as progress:
        result = asyncio.run(run_acute(settings, progress))
    summary = {
        "backlog": result.backlog,
        "probes": settings.bench_acute_probes,
        "p50_ms": result.pct(0.5),
        "p99_ms": result.pct(0.99),
        "timeouts": result.timeouts,
        "escalated": result.escalated,
        "latencies_ms": [round(x) for x in result.latencies_ms],
        "hops": result.hop_summary(),
        "rss_max_mb": result.rss_max_mb,
    }
    console.print_json(json.dumps(summary))
    for row in result.probes:
        console.print("  ".join(f"{hop} {ms:6.0f}" for hop, ms in row.items()))


if __name__ == "__main__":
    main()
