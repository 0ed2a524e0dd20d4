"""Writes to one document, one at a time, within a process.

FerretDB 1.x applies ``update``/``findAndModify`` as three steps: read the candidates, match the filter in Go, replace
the document. Two concurrent updates of one document can therefore both match (a version check included) and the
later replace silently undoes the earlier change. Real MongoDB applies the filter and the update atomically. Every
store here writes through :class:`SerialCollection`, which serialises writes per document id inside the process (and
writes whose filter names no single id against the whole collection), so the optimistic version checks and the
``$inc``/``$min``/``$push`` updates mean on FerretDB what they mean on MongoDB. Across processes of one service (only
in production, on MongoDB) the store's own atomicity holds.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.results import DeleteResult, InsertOneResult, UpdateResult

from shared.mongo import Document

_SCALARS = (str, int, bytes)


class _CollectionLocks:
    """A lock per document id, and an exclusive lock over the whole collection for multi-document writes."""

    def __init__(self) -> None:
        self._documents: dict[object, asyncio.Lock] = {}
        self._waiting: dict[object, int] = {}
        self._gate = asyncio.Lock()  # held by a whole-collection writer; per-document writers pass through it
        self._active = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @asynccontextmanager
    async def document(self, doc_id: object) -> AsyncIterator[None]:
        async with self._gate:
            self._active += 1
            self._idle.clear()
        lock = self._documents.setdefault(doc_id, asyncio.Lock())
        self._waiting[doc_id] = self._waiting.get(doc_id, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._waiting[doc_id] -= 1
            if not self._waiting[doc_id]:
                del self._waiting[doc_id]
                del self._documents[doc_id]
            self._active -= 1
            if not self._active:
                self._idle.set()

    @asynccontextmanager
    async def everything(self) -> AsyncIterator[None]:
        async with self._gate:
            await self._idle.wait()
            yield


# Per event loop: asyncio locks belong to the loop that first waits on them.
_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, str], _CollectionLocks]] = (
    weakref.WeakKeyDictionary()
)


def _locks_of(collection: AsyncCollection[Document]) -> _CollectionLocks:
    per_loop = _LOCKS.setdefault(asyncio.get_running_loop(), {})
    return per_loop.setdefault((collection.database.name, collection.name), _CollectionLocks())


def single_id(selector: Mapping[str, Any]) -> object | None:
    """The one document id a filter or document names (``{"_id": x, ...}`` with a plain value), else None."""
    value = selector.get("_id")
    return value if isinstance(value, _SCALARS) else None


@asynccontextmanager
async def writing(collection: AsyncCollection[Document], selector: Mapping[str, Any]) -> AsyncIterator[None]:
    """Hold the write lock of the document ``selector`` names, or of the whole collection."""
    locks = _locks_of(collection)
    doc_id = single_id(selector)
    guard = locks.everything() if doc_id is None else locks.document(doc_id)
    async with guard:
        yield


class SerialCollection(AsyncCollection[Document]):
    """An ``AsyncCollection`` whose single-document and multi-document writes never overlap on one document."""

    async def insert_one(self, document: Any, *args: Any, **kwargs: Any) -> InsertOneResult:
        async with writing(self, document):
            return await super().insert_one(document, *args, **kwargs)

    async def update_one(self, filter: Mapping[str, Any], *args: Any, **kwargs: Any) -> UpdateResult:
        async with writing(self, filter):
            return await super().update_one(filter, *args, **kwargs)

    async def update_many(self, filter: Mapping[str, Any], *args: Any, **kwargs: Any) -> UpdateResult:
        async with writing(self, filter):
            return await super().update_many(filter, *args, **kwargs)

    async def replace_one(self, filter: Mapping[str, Any], *args: Any, **kwargs: Any) -> UpdateResult:
        async with writing(self, filter):
            return await super().replace_one(filter, *args, **kwargs)

    async def delete_one(self, filter: Mapping[str, Any], *args: Any, **kwargs: Any) -> DeleteResult:
        async with writing(self, filter):
            return await super().delete_one(filter, *args, **kwargs)

    async def delete_many(self, filter: Mapping[str, Any], *args: Any, **kwargs: Any) -> DeleteResult:
        async with writing(self, filter):
            return await super().delete_many(filter, *args, **kwargs)

    async def find_one_and_update(self, filter: Mapping[str, Any], *args: Any, **kwargs: Any) -> Any:
        async with writing(self, filter):
            return await super().find_one_and_update(filter, *args, **kwargs)

    async def find_one_and_delete(self, filter: Mapping[str, Any], *args: Any, **kwargs: Any) -> Any:
        async with writing(self, filter):
            return await super().find_one_and_delete(filter, *args, **kwargs)
