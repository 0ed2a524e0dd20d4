"""Our FerretDB launcher (deploy/local/ferretdb) on the real store: what it adds to FerretDB's SQLite files."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from pymongo import AsyncMongoClient

from shared.store.mongo import Document
from tests.support.endpoints import Endpoints

pytestmark = pytest.mark.integration

DEADLINE_S = 10.0  # the id-index keeper looks at the files once a second


def sqlite_dir_of(mongodb_uri: str) -> Path | None:
    """The ``-sqlite-dir`` of the ferretdb-weerbaar process listening on the URI's port, if one runs here."""
    netloc = urlsplit(mongodb_uri).netloc.rsplit("@", 1)[-1]
    port = netloc.rsplit(":", 1)[-1] if ":" in netloc else "27017"
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if not argv or not argv[0].endswith("ferretdb-weerbaar") or "-sqlite-dir" not in argv[:-1]:
            continue
        listen = argv[argv.index("-listen-addr") + 1] if "-listen-addr" in argv[:-1] else "127.0.0.1:27017"
        if listen.rsplit(":", 1)[-1] == port:
            return Path(argv[argv.index("-sqlite-dir") + 1])
    return None


async def within_deadline(check: Callable[[], Awaitable[bool]]) -> bool:
    """Whether ``check`` comes true within the deadline (polled, no fixed wait)."""
    deadline = time.monotonic() + DEADLINE_S
    while not await check():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.1)
    return True


async def test_a_dropped_database_leaves_no_sqlite_files(endpoints: Endpoints, run_id: str) -> None:
    sqlite_dir = sqlite_dir_of(endpoints.mongodb_uri)
    if sqlite_dir is None:
        pytest.skip("the store is not our ferretdb-weerbaar launcher on this machine")
    client: AsyncMongoClient[Document] = AsyncMongoClient(endpoints.mongodb_uri)
    name = f"test_{run_id}_dropped"
    files = [sqlite_dir / f"{name}.sqlite{suffix}" for suffix in ("", "-wal", "-shm")]
    try:
        db = client[name]
        await db["c"].insert_many([{"_id": str(n)} for n in range(10)])

        async def keeper_has_it() -> bool:
            # The keeper's index on the table: from then on the keeper holds a connection to this file of its own.
            reader = sqlite3.connect(f"file:{files[0]}?mode=ro", uri=True)
            try:
                found = reader.execute("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name LIKE '%__id_path'")
                return found.fetchone() is not None
            finally:
                reader.close()

        assert await within_deadline(keeper_has_it), "the id-index keeper did not index the new collection"
        assert all(f.exists() for f in files)

        await client.drop_database(name)

        async def gone() -> bool:
            return not any(f.exists() for f in files)

        assert await within_deadline(gone), f"left on disk: {[f.name for f in files if f.exists()]}"
    finally:
        await client.close()
