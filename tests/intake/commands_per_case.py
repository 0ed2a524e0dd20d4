"""Store commands per case for intake alone, on a real broker and store (not a test: run it as a module).

    WEERBAAR_KAFKA_BOOTSTRAP=127.0.0.1:42092 WEERBAAR_MONGODB_URI=mongodb://127.0.0.1:48017 \
        .venv/bin/python -m tests.intake.commands_per_case --cases 200

Runs intake as a process of its own (no other service, so every event it sees is one this script sent) and counts
its commands from ``weerbaar_store_seconds`` on its /metrics, phase by phase:

- ``http``: ``POST /v1/incidents`` with an Idempotency-Key, 16 clients; includes intake reading its own report back
  from ``incident.reported.v1`` (measured on its own in ``own_report_again``);
- ``case_view``: per case a triage decision, four notification statuses and a follow-up, published at once;
- ``bulk_with_early_events``: per new case a triage decision and two statuses before its bulk report, one after;
- ``redelivery``: the ``case_view`` events once more (a redelivered batch must change nothing).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import httpx

from bench.storeprofile import Key, Spent, snapshot
from shared.contracts.envelope import Record, to_record
from shared.contracts.events import (
    Event,
    IncidentReported,
    NotificationState,
)
from shared.contracts.incident import IncidentReport
from shared.contracts.principals import DEV_MUNICIPALITIES
from shared.contracts.topics import Recipient
from shared.messaging.kafka import EventPublisher, make_broker, provision_topics
from shared.messaging.kafka_auth import operator_options
from tests.intake.events import bulk_report, followup, status, triaged
from tests.support.auth import DeskAuth
from tests.support.endpoints import real_endpoints
from tests.support.samples import unique_body
from tests.support.services import RunningServices, free_port, service_env, start_groups_at_end

SOURCE = "/test/commands-per-case"


def _case_view_events(case_id: str) -> list[Event]:
    return [
        triaged(case_id, routes=(Recipient.POLICE, Recipient.OM)),
        status(case_id, Recipient.POLICE, NotificationState.SENT),
        status(case_id, Recipient.OM, NotificationState.SENT),
        status(case_id, Recipient.BZK, NotificationState.SENT),
        status(case_id, Recipient.POLICE, NotificationState.ACKNOWLEDGED),
        followup(case_id),
    ]


def _records(events: Sequence[Event]) -> list[Record]:
    return [to_record(event, source=SOURCE) for event in events]


async def _settled(port: int, *, quiet_s: float = 3.0, timeout_s: float = 600.0) -> dict[Key, Spent]:
    """The metrics once intake has sent no store command for ``quiet_s``."""
    deadline = time.monotonic() + timeout_s
    last = await snapshot({"intake": port})
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        now = await snapshot({"intake": port})
        if _total(now) != _total(last):
            last, quiet_since = now, time.monotonic()
        elif time.monotonic() - quiet_since >= quiet_s:
            return now
    raise TimeoutError("intake did not settle")


def _total(spent: dict[Key, Spent]) -> float:
    return sum(s.commands for s in spent.values())


def _phase(name: str, before: dict[Key, Spent], after: dict[Key, Spent], cases: int) -> dict[str, Any]:
    rows: dict[str, int] = {}
    for key, spent in after.items():
        count = int(spent.commands - before.get(key, Spent(0.0, 0.0)).commands)
        if count:
            _, collection, command, shape = key
            rows[f"{collection} {command} {shape}"] = count
    total = sum(rows.values())
    return {
        "phase": name,
        "cases": cases,
        "commands": total,
        "per_case": round(total / cases, 2),
        "by_shape": dict(sorted(rows.items(), key=lambda r: -r[1])),
    }


async def _post_all(url: str, bodies: list[dict[str, Any]], clients: int) -> list[str]:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(len(bodies)):
        queue.put_nowait(index)
    case_ids: list[str] = [""] * len(bodies)

    async def client() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=30, auth=DeskAuth()) as http:
            while not queue.empty():
                index = queue.get_nowait()
                response = await http.post(
                    "/v1/incidents", json=bodies[index], headers={"Idempotency-Key": uuid.uuid4().hex}
                )
                response.raise_for_status()
                case_ids[index] = response.json()["case_id"]

    await asyncio.gather(*(client() for _ in range(clients)))
    return case_ids


async def _check(url: str, case_ids: list[str], until: Callable[[dict[str, Any]], bool]) -> int:
    """How many of a sample of cases satisfy ``until`` (read through GET /v1/cases/{id})."""
    good = 0
    async with httpx.AsyncClient(base_url=url, timeout=30, auth=DeskAuth()) as http:
        for case_id in case_ids[:: max(1, len(case_ids) // 20)]:
            response = await http.get(f"/v1/cases/{case_id}")
            good += response.status_code == 200 and until(response.json())
    return good


async def measure(cases: int, clients: int, settings: dict[str, str]) -> list[dict[str, Any]]:
    run = uuid.uuid4().hex[:8]
    with real_endpoints() as endpoints:
        await provision_topics(
            endpoints.kafka_bootstrap, security=operator_options(), municipalities=DEV_MUNICIPALITIES
        )
        await start_groups_at_end(endpoints.kafka_bootstrap, f"cmds-{run}")
        port = free_port()
        env = service_env(
            kafka=endpoints.kafka_bootstrap,
            mongo=endpoints.mongodb_uri,
            db=f"cmds_{run}",
            group_prefix=f"cmds-{run}",
            ports={"intake": port},
        )
        env["WEERBAAR_RATE_LIMIT_PER_MINUTE"] = "100000"
        env.update(settings)
        log_dir = Path(".artifacts") / f"commands-{run}"
        log_dir.mkdir(parents=True, exist_ok=True)
        services = RunningServices(env=env, ports={"intake": port}, log_dir=log_dir)
        services.start("intake")
        broker = make_broker(bootstrap=endpoints.kafka_bootstrap, service="measure", security=operator_options())
        await broker.connect()
        publisher = EventPublisher(broker, source=SOURCE)
        try:
            services.wait_ready(services=("intake",))
            url = services.url("intake")
            return await _phases(url, port, publisher, cases, clients)
        finally:
            await broker.stop()
            services.stop_all()


async def _phases(url: str, port: int, publisher: EventPublisher, cases: int, clients: int) -> list[dict[str, Any]]:
    results = []

    async def phase(name: str, work: Callable[[], Awaitable[None]]) -> None:
        before = await _settled(port)
        await work()
        results.append(_phase(name, before, await _settled(port), cases))
        print(json.dumps(results[-1]), flush=True)

    bodies = [unique_body() for _ in range(cases)]
    case_ids: list[str] = []

    async def http() -> None:
        case_ids.extend(await _post_all(url, bodies, clients))

    await phase("http", http)
    reports = [IncidentReport.model_validate(b) for b in bodies]
    view_events = [e for case_id in case_ids for e in _case_view_events(case_id)]

    async def own_reports_again() -> None:
        # what intake reads back of its own reports: the same event ids (deterministic per report id)
        async with httpx.AsyncClient(base_url=url, timeout=30, auth=DeskAuth()) as http:
            again = []
            for case_id, report in zip(case_ids, reports, strict=True):
                case = (await http.get(f"/v1/cases/{case_id}")).json()
                report_id = case["reports"][0]["report_id"]
                event_id = next(e["event_id"] for e in case["timeline"] if e["event"] == "IncidentReported")
                again.append(IncidentReported(event_id=event_id, case_id=case_id, report_id=report_id, report=report))
        before = await _settled(port)  # the GETs above cost store commands too: not part of this phase
        await publisher.send_many(_records(again))
        results.append(_phase("own_report_again", before, await _settled(port), cases))
        print(json.dumps(results[-1]), flush=True)

    await own_reports_again()
    await phase("case_view", lambda: publisher.send_many(_records(view_events)))

    bulk_ids = [uuid.uuid4().hex for _ in range(cases)]

    async def bulk() -> None:
        early = []
        for case_id in bulk_ids:
            early.extend(_case_view_events(case_id)[:3])
        await publisher.send_many(_records(early))
        await asyncio.sleep(1.0)  # the early events are taken before their reports arrive
        reported = [bulk_report(case_id) for case_id in bulk_ids]
        await publisher.send_many(_records(reported))
        later = [status(case_id, Recipient.BZK, NotificationState.SENT) for case_id in bulk_ids]
        await publisher.send_many(_records(later))

    await phase("bulk_with_early_events", bulk)
    await phase("redelivery", lambda: publisher.send_many(_records(view_events)))

    def complete(case: dict[str, Any]) -> bool:
        return case["risk"] is not None and len(case["notifications"]) == 3 and len(case["followups"]) == 1

    def bulk_complete(case: dict[str, Any]) -> bool:
        return case["risk"] is not None and len(case["notifications"]) == 3 and len(case["reports"]) == 1

    results.append(
        {
            "check": "sampled cases complete",
            "http_cases": await _check(url, case_ids, complete),
            "bulk_cases": await _check(url, bulk_ids, bulk_complete),
            "sampled_each": len(case_ids[:: max(1, len(case_ids) // 20)]),
        }
    )
    print(json.dumps(results[-1]), flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--out", type=Path, default=None, help="write the phases as JSON here")
    parser.add_argument("--set", action="append", default=[], metavar="WEERBAAR_X=VALUE", help="an intake setting")
    args = parser.parse_args()
    settings = dict(item.split("=", 1) for item in args.set)
    results = asyncio.run(measure(args.cases, args.clients, settings))
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
