"""Notify's acute hop under load: ``python -m tests.notify.acute_hop --backlog 6000 [--root TREE]``.

Runs notify alone (from ``--root``, so two trees can be compared with the same script) against the broker and store
named by ``WEERBAAR_KAFKA_BOOTSTRAP`` / ``WEERBAAR_MONGODB_URI``. Puts a backlog of cases in flight as triage would
publish them (report and decision on the main topics; a third critical, with their copies on both urgent topics),
then sends critical cases one at a time down the urgent topics and times each from its decision to its police
notification (record timestamps, one clock). Triage is left out, so the figure is notify's alone.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

from bench.pipeline import send_all
from shared.contracts.envelope import Record, to_record
from shared.contracts.events import IncidentReported, RiskLevel
from shared.contracts.principals import DEV_MUNICIPALITIES
from shared.contracts.topics import CASE_TRIAGED_URGENT, INCIDENT_URGENT, Recipient, notify_topic
from shared.messaging.kafka import provision_topics
from shared.messaging.kafka_auth import operator_options
from tests.notify.harness import CRITICAL_ROUTES, decision, report
from tests.support.probe import TopicProbe
from tests.support.services import ROOT, free_port, service_env, start_groups_at_end

ROUTINE = (Recipient.OTWB, Recipient.BZK)
POLICE = notify_topic(Recipient.POLICE)


def _case(case_id: str, *, critical: bool) -> list[Record]:
    reported = IncidentReported(case_id=case_id, report=report())
    decided = decision(
        case_id,
        level=RiskLevel.CRITICAL if critical else RiskLevel.LOW,
        routes=CRITICAL_ROUTES if critical else ROUTINE,
    )
    records = [to_record(reported, source="/hop"), to_record(decided, source="/hop")]
    if critical:
        records += [
            to_record(reported, source="/hop", topic=INCIDENT_URGENT),
            to_record(decided, source="/hop", topic=CASE_TRIAGED_URGENT),
        ]
    return records


async def _ready(port: int) -> None:
    async with httpx.AsyncClient(timeout=5) as client:
        while True:
            try:
                if (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass  # not listening yet
            await asyncio.sleep(0.5)


async def main(root: Path, backlog: int, probes: int) -> None:
    kafka = os.environ["WEERBAAR_KAFKA_BOOTSTRAP"]
    mongo = os.environ["WEERBAAR_MONGODB_URI"]
    run = uuid.uuid4().hex[:8]
    await provision_topics(kafka, security=operator_options(), municipalities=DEV_MUNICIPALITIES)
    await start_groups_at_end(kafka, f"hop-{run}")
    port = free_port()
    env = service_env(kafka=kafka, mongo=mongo, db=f"hop_{run}", group_prefix=f"hop-{run}", ports={"notify": port})
    log_dir = ROOT / ".artifacts" / f"acute-hop-{run}"
    log_dir.mkdir(parents=True, exist_ok=True)
    with (log_dir / "notify.log").open("ab") as log:
        proc = subprocess.Popen(  # noqa: ASYNC220 - started once, before anything is timed
            [sys.executable, "-m", "services.notify"], cwd=root, env=env, stdout=log, stderr=log
        )
    probe = TopicProbe(kafka, [POLICE, CASE_TRIAGED_URGENT])
    latencies: list[float] = []
    order: list[str] = []
    missed = 0
    try:
        await _ready(port)
        await probe.start()
        await send_all(kafka, [r for i in range(backlog) for r in _case(f"hop{run}{i:07d}", critical=i % 3 == 0)])
        for n in range(probes):
            case_id = f"probe{run}{n:03d}"
            await send_all(kafka, _case(case_id, critical=True))
            try:
                (police,) = (await probe.wait_for(POLICE, case_id, timeout=20))[:1]
            except AssertionError:
                missed += 1
                order.append("missed")
                continue
            (sent,) = probe.all(CASE_TRIAGED_URGENT, case_id)[:1]
            latencies.append(police.timestamp_ms - sent.timestamp_ms)
            order.append(f"{latencies[-1]:.0f}")
            await asyncio.sleep(0.2)
    finally:
        await probe.stop()
        proc.terminate()
        proc.wait(30)
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] if ordered else float("nan")
    print(
        f"tree {root}: backlog {backlog}, {probes} probes: decision → police p50 "
        f"{statistics.median(ordered) if ordered else float('nan'):.0f} ms, p99 {p99:.0f} ms, "
        f"max {max(ordered, default=float('nan')):.0f} ms, missed {missed}; logs in {log_dir}\n  in order: "
        + " ".join(order)
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", type=Path, default=ROOT, help="the tree whose notify runs")
    parser.add_argument("--backlog", type=int, default=6000)
    parser.add_argument("--probes", type=int, default=20)
    args = parser.parse_args()
    started = time.monotonic()
    asyncio.run(main(args.root, args.backlog, args.probes))
    print(f"took {time.monotonic() - started:.0f} s")
