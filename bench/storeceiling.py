"""The store's own ceiling: single-document ``update_one`` by ``_id`` per second, one client and several at once.

A scratch database of ~1 KB documents, inserted in chunks below FerretDB's limit (a bulk command of 100 statements
or more wedges it), updated at random by ``_id`` for a fixed time per mode, then dropped. A weerbaar case costs some
forty such commands, so this rate bounds what the services can reach on the same box.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from typing import Any

from pymongo import AsyncMongoClient

from bench.acute import percentile
from bench.config import BenchSettings
from shared.store.mongo import Document

CHUNK = 99  # statements per insert command: FerretDB wedges on one of >= 100
INDEX_WAIT_S = 2.0  # the launcher's keeper adds the queried _id index to a new table within a second
PAD = "x" * 960  # with the other fields: ~1 KB per document


async def _updates(uri: str, db: str, ids: list[str], seconds: float, seed: int) -> list[float]:
    """One client updating random documents by ``_id`` until the time is up; each update's latency in ms."""
    rng = random.Random(seed)
    latencies: list[float] = []
    async with AsyncMongoClient[Document](uri) as client:
        docs = client[db]["docs"]
        deadline = time.perf_counter() + seconds
        while (started := time.perf_counter()) < deadline:
            await docs.update_one({"_id": rng.choice(ids)}, {"$inc": {"n": 1}, "$set": {"at": time.time()}})
            latencies.append(1000 * (time.perf_counter() - started))
    return latencies


async def _mode(settings: BenchSettings, db: str, ids: list[str], clients: int) -> dict[str, float]:
    started = time.perf_counter()
    runs = [_updates(settings.mongodb_uri, db, ids, settings.bench_store_seconds, seed) for seed in range(clients)]
    latencies = [ms for run in await asyncio.gather(*runs) for ms in run]
    return {
        "clients": clients,
        "updates_per_s": len(latencies) / (time.perf_counter() - started),
        "p50_ms": percentile(latencies, 0.5),
        "p99_ms": percentile(latencies, 0.99),
    }


async def run_store_ceiling(settings: BenchSettings) -> dict[str, Any]:
    """Sequential (1 client), then ``bench_store_clients`` concurrent clients, on a scratch database."""
    db = f"bench_store_{uuid.uuid4().hex[:8]}"
    ids = [f"doc-{i:06d}" for i in range(settings.bench_store_docs)]
    async with AsyncMongoClient[Document](settings.mongodb_uri) as client:
        try:
            docs = client[db]["docs"]
            for at in range(0, len(ids), CHUNK):
                await docs.insert_many([{"_id": i, "n": 0, "at": 0.0, "pad": PAD} for i in ids[at : at + CHUNK]])
            await asyncio.sleep(INDEX_WAIT_S)
            sequential = await _mode(settings, db, ids, 1)
            concurrent = await _mode(settings, db, ids, settings.bench_store_clients)
        finally:
            await client.drop_database(db)
    return {
        "documents": len(ids),
        "seconds_per_mode": settings.bench_store_seconds,
        "sequential": sequential,
        "concurrent": concurrent,
    }


def main() -> None:
    """``python -m bench.storeceiling``: the store ceiling alone."""
    print(json.dumps(asyncio.run(run_store_ceiling(BenchSettings())), indent=2))


if __name__ == "__main__":
    main()
