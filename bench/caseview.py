"""Read-modify-write of one case document on the real store: held (one lock, two commands) against narrowed (three).

Intake's case view applies every status, decision and follow-up to the case document: read the case, decide the
change, write it under a version check. Through ``SerialCollection.update_one`` the versioned write reads the document
again on FerretDB (to decide the version check without FerretDB's collection scan); ``SerialCollection.holding``
reads once under the document lock and writes by id. Both run here side by side, in alternating rounds, on documents
of a case's size, with as many writers in flight as intake's case view has (one record at a time per topic).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from pymongo import AsyncMongoClient

from bench.config import BenchSettings
from shared.store.mongo import Document
from shared.store.serial import SerialCollection

TIMELINE = 40  # entries on a case that has been through triage, notifications and acknowledgements
ENTRY = {"at": "2026-12-02T10:00:00Z", "kind": "notification.status", "summary": "Notification to police: sent " * 4}
CASES = 50
WRITERS = 3  # intake's case view: one consumer each for decisions, statuses and follow-ups
ROUNDS = 4

Apply = Callable[[SerialCollection, str, int], Awaitable[bool]]


def _update(doc: Document, n: int) -> dict[str, Any]:
    return {
        "$set": {"version": doc["version"] + 1, "status": f"s{n}"},
        "$push": {"seen": uuid.uuid4().hex, "timeline": ENTRY},
    }


async def narrowed(cases: SerialCollection, case_id: str, n: int) -> bool:
    """The earlier path: read, then a version-checked ``update_one`` (which reads again under the lock)."""
    doc = await cases.find_one({"_id": case_id}, {"outbox": 0})
    assert doc is not None
    result = await cases.update_one({"_id": case_id, "version": doc["version"]}, _update(doc, n))
    return result.matched_count == 1


async def held(cases: SerialCollection, case_id: str, n: int) -> bool:
    """The held path: read and write under one lock."""
    async with cases.holding(case_id) as document:
        doc = await document.read({"outbox": 0})
        assert doc is not None
        return await document.update({"version": doc["version"]}, _update(doc, n))


async def _round(cases: SerialCollection, apply: Apply, events: int) -> tuple[float, int]:
    ids = [f"case-{uuid.uuid4().hex}" for _ in range(CASES)]
    for case_id in ids:
        await cases.insert_one(
            {"_id": case_id, "version": 1, "seen": [], "timeline": [ENTRY] * TIMELINE, "outbox": [], "status": "new"}
        )
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(events):
        queue.put_nowait(n)
    conflicts = 0

    async def writer() -> None:
        nonlocal conflicts
        while not queue.empty():
            n = queue.get_nowait()
            while not await apply(cases, ids[n % CASES], n):
                conflicts += 1  # a concurrent write won: read again, as intake's retry does

    started = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(WRITERS)))
    return events / (time.perf_counter() - started), conflicts


async def run_caseview(settings: BenchSettings, events: int = 600) -> dict[str, Any]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(settings.mongodb_uri)
    db = client[f"bench_caseview_{uuid.uuid4().hex[:8]}"]
    try:
        cases = SerialCollection(db, "cases")
        rates: dict[str, list[float]] = {"narrowed": [], "held": []}
        conflicts = dict.fromkeys(rates, 0)
        strategies: list[tuple[str, Apply]] = [("narrowed", narrowed), ("held", held)]
        for _ in range(ROUNDS):
            strategies.reverse()  # neither always goes first (the store warms up over the run)
            for name, apply in strategies:
                rate, lost = await _round(cases, apply, events)
                rates[name].append(rate)
                conflicts[name] += lost
        best = {name: max(values) for name, values in rates.items()}
        return {
            "events_per_round": events,
            "writers": WRITERS,
            "rates": rates,
            "conflicts": conflicts,
            "ratio": best["held"] / best["narrowed"],
        }
    finally:
        await client.drop_database(db.name)
        await client.close()


def main() -> None:
    print(asyncio.run(run_caseview(BenchSettings())))


if __name__ == "__main__":
    main()
