"""MongoDB (or FerretDB) access through PyMongo's async client."""

from __future__ import annotations

import asyncio
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from shared.errors import Unavailable
from shared.storetime import StoreTimer

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
