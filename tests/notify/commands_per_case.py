"""Store commands notify spends per case: ``python -m tests.notify.commands_per_case --cases 300 [--root TREE]``.

Runs triage and notify (from ``--root``, so two trees can be compared with the same script) against the broker and
store named by ``WEERBAAR_KAFKA_BOOTSTRAP`` / ``WEERBAAR_MONGODB_URI``, feeds the bench's routine reports onto
``incident.reported`` (a share of them rates high or critical and takes the acute lane, as in ``make bench``), waits
until notify is done with every case and has gone quiet, and prints notify's store commands per case from its
``weerbaar_store_seconds`` histogram, by collection, command and filter shape.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
from pymongo import AsyncMongoClient

from bench.pipeline import routine_records, send_all
from bench.storeprofile import Key, Spent, snapshot
from services.notify.domain import notification_id
from shared.contracts.principals import DEV_MUNICIPALITIES
from shared.contracts.topics import Recipient
from shared.messaging.kafka import provision_topics
from shared.messaging.kafka_auth import operator_options
from shared.store.mongo import Document
from tests.support.services import ROOT, free_port, service_env, start_groups_at_end

SERVICES = ("triage", "notify")


async def _scrape(port: int) -> dict[Key, Spent]:
    return await snapshot({"notify": port})


def _count(spent: dict[Key, Spent]) -> int:
    return int(sum(s.commands for s in spent.values()))


async def _wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=5) as client:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"service exited with {proc.returncode}")
            try:
                if (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("service not ready")
            await asyncio.sleep(0.5)


async def _wait_done(db_uri: str, db_name: str, case_ids: list[str], timeout: float) -> float:
    """Until every case's BZK notification is stored (every case routes to BZK); seconds taken."""
    started = time.monotonic()
    client: AsyncMongoClient[Document] = AsyncMongoClient(db_uri)
    remaining = list(case_ids)
    try:
        while remaining:
            assert time.monotonic() - started < timeout, f"{len(remaining)} cases not notified"
            missing = []
            for case in remaining[:200]:
                if (
                    await client[db_name]["notify_notifications"].find_one(
                        {"_id": notification_id(case, Recipient.BZK, 1)}
                    )
                    is None
                ):
                    missing.append(case)
            remaining = missing + remaining[200:]
            await asyncio.sleep(0.5)
    finally:
        await client.close()
    return time.monotonic() - started


async def _wait_quiet(port: int, quiet_s: float = 8.0) -> None:
    """Until notify sent no store command for ``quiet_s`` (its background work and outbox relay are done)."""
    last, since = -1, time.monotonic()
    while time.monotonic() - since < quiet_s:
        now = _count({k: v for k, v in (await _scrape(port)).items() if k[0] == "notify"})
        if now != last:
            last, since = now, time.monotonic()
        await asyncio.sleep(0.5)


async def main(root: Path, cases: int, timeout: float) -> None:
    kafka = os.environ["WEERBAAR_KAFKA_BOOTSTRAP"]
    mongo = os.environ["WEERBAAR_MONGODB_URI"]
    run = uuid.uuid4().hex[:8]
    await provision_topics(kafka, security=operator_options(), municipalities=DEV_MUNICIPALITIES)
    await start_groups_at_end(kafka, f"cmd-{run}")
    ports = {service: free_port() for service in SERVICES}
    env = service_env(kafka=kafka, mongo=mongo, db=f"cmd_{run}", group_prefix=f"cmd-{run}", ports=ports)
    log_dir = ROOT / ".artifacts" / f"commands-{run}"
    log_dir.mkdir(parents=True, exist_ok=True)
    procs = {}
    for service in SERVICES:
        log = (log_dir / f"{service}.log").open("ab")
        procs[service] = subprocess.Popen(  # noqa: ASYNC220 - started once, before the measurement
            [sys.executable, "-m", f"services.{service}"], cwd=root, env=env, stdout=log, stderr=log
        )
    try:
        for service in SERVICES:
            await _wait_ready(ports[service], procs[service])
        before = await _scrape(ports["notify"])
        records = routine_records(cases, f"cmd{run}")
        await send_all(kafka, records)
        took = await _wait_done(mongo, f"cmd_{run}", [r.key.decode() for r in records], timeout)
        await _wait_quiet(ports["notify"])
        after = await _scrape(ports["notify"])
    finally:
        for proc in procs.values():
            proc.terminate()
        for proc in procs.values():
            proc.wait(30)
    rows = []
    for key, spent in after.items():
        if key[0] != "notify":
            continue
        n = spent.commands - before.get(key, Spent(0.0, 0.0)).commands
        if n:
            rows.append((n, key))
    total = sum(n for n, _ in rows)
    print(f"tree {root}: {cases} cases, notified in {took:.1f} s, logs in {log_dir}")
    print(f"notify store commands: {int(total)} = {total / cases:.2f} per case")
    for n, (_, collection, command, shape) in sorted(rows, reverse=True):
        print(f"  {n / cases:6.2f}  {int(n):6d}  {collection:24s} {command:10s} {shape}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", type=Path, default=ROOT, help="the tree whose services run")
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    asyncio.run(main(args.root, args.cases, args.timeout))
