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
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError
from pymongo.results import BulkWriteResult, DeleteResult, InsertManyResult, InsertOneResult, UpdateResult

from shared.store.docmatch import Unsupported, matches
from shared.store.keyed import KeyedLocks
from shared.store.mongo import Document

_SCALARS = (str, int, bytes)


class _CollectionLocks:
    """A lock per document id, and an exclusive lock over the whole collection for multi-document writes."""

    def __init__(self) -> None:
        self._documents = KeyedLocks()
        self._gate = asyncio.Lock()  # held by a whole-collection writer; per-document writers pass through it
        self._active = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @asynccontextmanager
    async def document(self, doc_id: object) -> AsyncIterator[None]:
        async with self._gate:
            self._active += 1
            self._idle.clear()
        try:
            async with self._documents.holding(doc_id):
                yield
        finally:
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


_FERRETDB: dict[int, bool] = {}


async def is_ferretdb(collection: AsyncCollection[Document]) -> bool:
    """Whether the store behind ``collection`` is FerretDB (its workarounds apply): FerretDB answers ``buildInfo``
    with a ``ferretdbVersion``; asked once per client."""
    client = collection.database.client
    known = _FERRETDB.get(id(client))
    if known is None:
        info = await client.admin.command("buildInfo")
        known = _FERRETDB[id(client)] = "ferretdbVersion" in info
    return known


def _rest(selector: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in selector.items() if k != "_id"}


def _upsert_by_id_alone(selector: Mapping[str, Any]) -> bool:
    """An upsert that finds nothing inserts the filter's equality fields: only ``_id`` alone may stand in for it."""
    return all(k.startswith("$") or isinstance(v, Mapping) for k, v in _rest(selector).items())


_NOTHING = UpdateResult({"n": 0, "nModified": 0, "ok": 1.0}, acknowledged=True)

# Operations per bulk command (bulk_write, insert_many). FerretDB 1.24.2 keeps each statement's query of an `update`
# command open until the whole command ends (msg_update.go defers the iterators' Close inside its loop), each on a
# connection of the database's pool of 100, and each statement's write takes one more: a command of 100 statements
# waits for ever for a 101st connection while holding the other 100, and the database is wedged until FerretDB
# restarts. 99 is the limit for a command alone, but every command in flight on that database shares the pool (each
# holds one connection while it waits for its write): 99 statements beside four clients' single updates wedged as
# well (1 of 2 runs). So far fewer, leaving most of the pool to the others. Inserts and deletes close their queries
# statement by statement; they are chunked alike, for one rule.
BULK_CHUNK = 20

_COUNTS = ("nInserted", "nUpserted", "nMatched", "nModified", "nRemoved")


class _Chunked:
    """The results of a bulk write sent in chunks as one bulk API result, indexes counted over all operations."""

    def __init__(self) -> None:
        self.result: dict[str, Any] = {
            "writeErrors": [],
            "writeConcernErrors": [],
            **dict.fromkeys(_COUNTS, 0),
            "upserted": [],
        }
        self.acknowledged = True

    def add(self, part: Mapping[str, Any] | None, start: int) -> None:
        """One chunk's bulk API result (None: not acknowledged); its operations begin at ``start``."""
        if part is None:
            self.acknowledged = False
            return
        for key in _COUNTS:
            self.result[key] += part.get(key, 0)
        for key in ("upserted", "writeErrors"):
            self.result[key].extend({**entry, "index": entry["index"] + start} for entry in part.get(key, ()))
        self.result["writeConcernErrors"].extend(part.get("writeConcernErrors", ()))

    def failed(self) -> bool:
        return bool(self.result["writeErrors"] or self.result["writeConcernErrors"])


class HeldDocument:
    """One document under its write lock: read it, then write it, with no write of this process in between.

    A read-modify-write otherwise costs three commands on FerretDB (the read, the narrowed write's own read, the
    write); held, it costs two, and no write of this process can make the version check fail in between.
    """

    def __init__(self, collection: SerialCollection, doc_id: object, *, local: bool) -> None:
        self._collection = collection
        self._id = doc_id
        self._local = local  # FerretDB: conditions on what was read under the lock are decided here
        self._read: Document | None = None

    async def read(self, projection: Mapping[str, Any] | None = None) -> Document | None:
        self._read = await AsyncCollection.find_one(self._collection, {"_id": self._id}, projection)
        return self._read

    async def update(self, conditions: Mapping[str, Any], update: Mapping[str, Any]) -> bool:
        """Apply ``update`` if the document meets ``conditions``; whether it did."""
        selector: dict[str, Any] = {"_id": self._id, **conditions}
        read, self._read = self._read, None  # after this write, what was read is stale
        if self._local and read is not None and all(not k.startswith("$") and k in read for k in conditions):
            try:
                if not matches(read, dict(conditions)):
                    return False
                selector = {"_id": self._id}
            except Unsupported:
                pass
        result = await AsyncCollection.update_one(self._collection, selector, update)
        return result.matched_count == 1


class SerialCollection(AsyncCollection[Document]):
    """An ``AsyncCollection`` whose writes never overlap on one document, and stay ``_id`` look-ups on FerretDB.

    On FerretDB a write whose filter names one ``_id`` plus conditions is done as: read the document by ``_id``,
    decide the conditions (:mod:`shared.store.docmatch`), write by ``_id`` alone, all under the document's lock. That is
    exactly what FerretDB itself does, minus its scan of the whole collection. On MongoDB the filter goes to the
    server as it is (atomic there, also across replicas).

    It knows nothing of the acute lane: routine work takes its turn where it takes work on (``shared.messaging.lanes``).
    """

    async def _narrowed(self, selector: Mapping[str, Any]) -> tuple[Document | None, bool] | None:
        """(the document, whether it matches) when decided here; None to let the store evaluate the filter."""
        doc_id = single_id(selector)
        if doc_id is None or len(selector) == 1 or not await is_ferretdb(self):
            return None
        doc = await super().find_one({"_id": doc_id})
        if doc is None:
            return None, False
        try:
            return doc, matches(doc, _rest(selector))
        except Unsupported:
            return None

    @asynccontextmanager
    async def holding(self, doc_id: str) -> AsyncIterator[HeldDocument]:
        """The document ``doc_id`` under its write lock for a read and a write (no other command of this collection
        on that document in the block: they would wait for the lock)."""
        async with writing(self, {"_id": doc_id}):
            yield HeldDocument(self, doc_id, local=await is_ferretdb(self))

    async def insert_one(self, document: Any, *args: Any, **kwargs: Any) -> InsertOneResult:
        async with writing(self, document):
            return await super().insert_one(document, *args, **kwargs)

    async def update_one(self, filter: Mapping[str, Any], *args: Any, **kwargs: Any) -> UpdateResult:
        async with writing(self, filter):
            decided = await self._narrowed(filter)
            if decided is None:
                return await super().update_one(filter, *args, **kwargs)
            doc, matched = decided
            by_id = {"_id": filter["_id"]}
            if matched:
                return await super().update_one(by_id, *args, **kwargs)
            if not kwargs.get("upsert"):
                return _NOTHING
            if doc is not None:
                raise DuplicateKeyError("E11000 duplicate key error: the document exists but does not match", 11000)
            if _upsert_by_id_alone(filter):
                return await super().update_one(by_id, *args, **kwargs)
            return await super().update_one(filter, *args, **kwargs)

    async def _in_chunks(
        self,
        operations: Sequence[Any],
        ordered: bool,
        send: Callable[[Sequence[Any]], Awaitable[Mapping[str, Any] | None]],
    ) -> _Chunked:
        """Send ``operations`` BULK_CHUNK at a time, in order, each chunk under the whole collection's write lock.

        Ordered, the first chunk with a write error ends it; either way a BulkWriteError over all chunks is raised.
        """
        done = _Chunked()
        for start in range(0, len(operations), BULK_CHUNK):
            async with writing(self, {}):
                try:
                    part = await send(operations[start : start + BULK_CHUNK])
                except BulkWriteError as exc:
                    done.add(exc.details, start)
                    if ordered and exc.details.get("writeErrors"):
                        raise BulkWriteError(done.result) from exc
                    continue
            done.add(part, start)
        if done.failed():
            raise BulkWriteError(done.result)
        return done

    async def bulk_write(
        self,
        requests: Sequence[Any],
        ordered: bool = True,
        bypass_document_validation: bool | None = None,
        session: AsyncClientSession | None = None,
        comment: Any | None = None,
        let: Mapping[str, Any] | None = None,
    ) -> BulkWriteResult:
        """pymongo's bulk_write in commands of at most BULK_CHUNK operations (see there), one result for all.

        Each command holds the whole collection's write lock: not to be called while holding a document of it.
        """
        operations = list(requests)
        if not operations:
            return await super().bulk_write(operations, ordered, bypass_document_validation, session, comment, let)

        async def send(chunk: Sequence[Any]) -> Mapping[str, Any] | None:
            result = await AsyncCollection.bulk_write(
                self, list(chunk), ordered, bypass_document_validation, session, comment, let
            )
            return result.bulk_api_result if result.acknowledged else None

        done = await self._in_chunks(operations, ordered, send)
        return BulkWriteResult(done.result if done.acknowledged else {}, done.acknowledged)

    async def insert_many(
        self,
        documents: Iterable[Any],
        ordered: bool = True,
        bypass_document_validation: bool | None = None,
        session: AsyncClientSession | None = None,
        comment: Any | None = None,
    ) -> InsertManyResult:
        """pymongo's insert_many in commands of at most BULK_CHUNK documents; ``inserted_ids`` in the given order."""
        docs = list(documents) if isinstance(documents, Iterable) and not isinstance(documents, Mapping) else []
        if not docs:
            return await super().insert_many(documents, ordered, bypass_document_validation, session, comment)
        inserted: list[Any] = []

        async def send(chunk: Sequence[Any]) -> Mapping[str, Any] | None:
            result = await AsyncCollection.insert_many(
                self, chunk, ordered, bypass_document_validation, session, comment
            )
            inserted.extend(result.inserted_ids)
            return {"nInserted": len(chunk)} if result.acknowledged else None

        done = await self._in_chunks(docs, ordered, send)
        return InsertManyResult(inserted, done.acknowledged)

    async def version_selector(self, doc_id: str, version: int) -> dict[str, Any]:
        """The filter of a replace that must find ``doc_id`` still at ``version``; the caller holds the document's
        lock (``writing``). On MongoDB the version is a condition of the command (atomic, also across processes); on
        FerretDB, where any condition beside ``_id`` scans the collection, the lock is the guard (one process per
        service there)."""
        selector: dict[str, Any] = {"_id": doc_id}
        if not await is_ferretdb(self):
            selector["version"] = version
        return selector

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
            decided = None if kwargs.get("upsert") else await self._narrowed(filter)
            if decided is None:
                return await super().find_one_and_update(filter, *args, **kwargs)
            _, matched = decided
            if not matched:
                return None
            return await super().find_one_and_update({"_id": filter["_id"]}, *args, **kwargs)

    async def find_one_and_delete(self, filter: Mapping[str, Any], *args: Any, **kwargs: Any) -> Any:
        async with writing(self, filter):
            return await super().find_one_and_delete(filter, *args, **kwargs)

    async def count_documents(self, filter: Mapping[str, Any], *args: Any, **kwargs: Any) -> int:
        decided = None if args or kwargs else await self._narrowed(filter)
        if decided is None:
            return await super().count_documents(filter, *args, **kwargs)
        return int(decided[1])
