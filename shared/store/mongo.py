"""MongoDB (or FerretDB) access through PyMongo's async client."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import CollectionInvalid, OperationFailure, PyMongoError

from shared.runtime.errors import Unavailable
from shared.store.timing import StoreTimer

Document = dict[str, Any]


def make_client(uri: str, *, app_name: str, timeout_ms: int = 5_000) -> AsyncMongoClient[Document]:
    """A client that fails fast when the store is unreachable instead of waiting 30 s."""
    return AsyncMongoClient(
        uri,
        appname=app_name,
        tz_aware=True,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        socketTimeoutMS=timeout_ms * 2,
        event_listeners=[StoreTimer(app_name.removeprefix("weerbaar-"))],
    )


async def ping(db: AsyncDatabase[Document], timeout_s: float) -> None:
    """Raise Unavailable (a TransientError) unless the store answers within the timeout."""
    try:
        await asyncio.wait_for(db.command("ping"), timeout_s)
    except (TimeoutError, PyMongoError, OSError) as exc:
        raise Unavailable(f"store unavailable: {type(exc).__name__}") from exc


READY_PROBE_ID = "__readyz__"
_NAMESPACE_EXISTS = 48
# (client, database, collection) whose probe collection this process has seen created.
_PROBED: set[tuple[int, str, str]] = set()


async def _ensure_collection(db: AsyncDatabase[Document], name: str) -> None:
    """Create the collection unless it exists, once per process (a lost race with another process is fine)."""
    key = (id(db.client), db.name, name)
    if key in _PROBED:
        return
    try:
        await db.create_collection(name)
    except CollectionInvalid:
        pass
    except OperationFailure as exc:
        if exc.code != _NAMESPACE_EXISTS:
            raise
    _PROBED.add(key)


async def probe(db: AsyncDatabase[Document], collections: Sequence[str], timeout_s: float) -> None:
    """Raise Unavailable unless a ``find_one`` by ``_id`` in each collection answers within the timeout (all together).

    A ping proves the server answers, not that the database does: on FerretDB a database whose SQLite connection pool
    is used up (a bulk update of 100 statements) still answers ``ping``, and a query on a collection that does not
    exist is answered from FerretDB's metadata alone; only a query on an existing collection reaches SQLite. So a
    collection that does not exist yet is created first (once per process).
    """

    async def query_each() -> None:
        for name in collections:
            await _ensure_collection(db, name)
            await db[name].find_one({"_id": READY_PROBE_ID})

    try:
        await asyncio.wait_for(query_each(), timeout_s)
    except (TimeoutError, PyMongoError, OSError) as exc:
        raise Unavailable(f"store query unanswered: {type(exc).__name__}") from exc
