"""A unit of work per aggregate: loaded once, changed in memory, saved with one write.

Each service keeps its aggregates (a case in intake, an assessment in triage, a case's notifications in notify, a
case's facts in reporting) as one document each. ``AggregateStore.unit(id)`` holds the document's write lock in this
process, gives the aggregate (from the cache of what this process last wrote or read, else one read by ``_id``),
and on leaving the block writes it back with one command when it changed: an insert when it is new, otherwise a
replace by ``_id``. Only the codec maps aggregate ↔ document, so no Mongo syntax reaches domain code.

Why a cache is safe: records are keyed by case, so one consumer of a service owns a case at a time, and every write
of a service goes through its ``AggregateStore`` under the document's lock. On MongoDB the replace also checks the
version (atomic there), so a second process that wrote in between makes it fail (``StaleAggregate``, transient: the
cache entry is dropped and the unit is tried again). On FerretDB (one process per service) a filter with anything
beside ``_id`` would scan the whole collection, so the replace is by ``_id`` alone under the lock. The runtime
drops the cache whenever the service's consumers lose partitions (another process may own those cases now).

Aggregates that routine work saves at the same moment (the cases of a batch run side by side) go to the store
together: one bulk command for the new ones and one for the changed ones (group commit, ``shared/store/group.py``).
Each command costs the store ~2.5 ms of CPU whatever it carries, and FerretDB commits every single update on its
own: ~2,000 documents/s inserted in bulk against ~400 single inserts/s, ~1,190 replaces/s in bulk against ~310/s.
"""

from __future__ import annotations

import asyncio
import copy
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from shared.runtime.errors import TransientError
from shared.store.group import GroupWrites
from shared.store.mongo import Document
from shared.store.serial import SerialCollection, writing

_DUPLICATE_KEY = 11000
_EXISTING_REMEMBERED = 10_000

A = TypeVar("A")


class StaleAggregate(TransientError):
    """Another writer changed the aggregate since it was loaded: load it again and retry."""

    code = "stale_aggregate"


class Codec(Protocol[A]):
    """Maps an aggregate to its stored document and back (the one place that knows the document's shape)."""

    def to_document(self, aggregate: A) -> Document: ...

    def from_document(self, document: Document) -> A: ...


@dataclass(slots=True)
class _Known:
    document: Document  # as stored, version included
    version: int


class AggregateStore(Generic[A]):
    """Aggregates of one kind in one collection, each loaded once and saved with one write."""

    def __init__(self, collection: SerialCollection, codec: Codec[A], *, cache_size: int = 20_000) -> None:
        self.collection = collection
        self._codec = codec
        self._cache: OrderedDict[str, _Known] = OrderedDict()
        self._cache_size = cache_size
        self._writes = GroupWrites(collection)
        self._existing: OrderedDict[str, None] = OrderedDict()
        """Ids found to exist when presumed new: their next unit reads them."""

    def forget(self, aggregate_id: str | None = None) -> None:
        """Drop what this process knows of one aggregate (or of all): the next unit reads it from the store."""
        if aggregate_id is None:
            self._cache.clear()
        else:
            self._cache.pop(aggregate_id, None)

    async def peek(self, aggregate_id: str) -> A | None:
        """The aggregate as it stands, without holding it (for reads such as an HTTP view)."""
        known = await self._known(aggregate_id)
        return None if known is None else self._codec.from_document(copy.deepcopy(known.document))

    @asynccontextmanager
    async def unit(self, aggregate_id: str, new: Callable[[], A], *, presume_new: bool = False) -> AsyncIterator[A]:
        """The aggregate under its write lock (``new()`` when none is stored); written back once if it changed.

        An exception in the block writes nothing. Saving raises ``StaleAggregate`` when another process wrote in
        between (MongoDB only), ``TransientError`` subclasses for store trouble. ``presume_new``: an aggregate this
        process knows nothing of is taken to be new without a read (e.g. a case opened by a report from a bulk
        feed); if one is stored after all, saving raises ``StaleAggregate`` and the next unit of that id reads it.
        """
        async with writing(self.collection, {"_id": aggregate_id}):
            presumed = presume_new and aggregate_id not in self._cache and aggregate_id not in self._existing
            known = None if presumed else await self._known(aggregate_id)
            aggregate = new() if known is None else self._codec.from_document(copy.deepcopy(known.document))
            yield aggregate
            document = self._codec.to_document(aggregate)
            if known is not None and _same(document, known.document):
                return
            await self._write(aggregate_id, document, known)

    async def add(self, aggregate_id: str, aggregate: A) -> None:
        """Store an aggregate known to be new (e.g. its id was just claimed) with one insert and no read before it.

        Raises ``StaleAggregate`` when one of that id exists after all.
        """
        async with writing(self.collection, {"_id": aggregate_id}):
            await self._write(aggregate_id, self._codec.to_document(aggregate), None)

    async def add_many(self, aggregates: Sequence[tuple[str, A]]) -> set[str]:
        """Store aggregates known to be new, all at once (no lock, no read, not cached: they come in numbers); the ids
        of those that existed already, left as they were (a redelivery)."""
        outcomes = await asyncio.gather(
            *(
                self._write(id_, self._codec.to_document(aggregate), None, remember=False)
                for id_, aggregate in aggregates
            ),
            return_exceptions=True,
        )
        existed = set()
        for (aggregate_id, _), outcome in zip(aggregates, outcomes, strict=True):
            if isinstance(outcome, StaleAggregate) and isinstance(outcome.__cause__, DuplicateKeyError):
                existed.add(aggregate_id)
            elif isinstance(outcome, BaseException):
                raise outcome
        return existed

    async def _known(self, aggregate_id: str) -> _Known | None:
        known = self._cache.get(aggregate_id)
        if known is not None:
            self._cache.move_to_end(aggregate_id)
            return known
        found = await AsyncCollection.find_one(self.collection, {"_id": aggregate_id})
        if found is None:
            return None
        known = _Known(document=found, version=int(found.get("version", 0)))
        self._remember(aggregate_id, known)
        return known

    async def _write(
        self, aggregate_id: str, document: Document, known: _Known | None, *, remember: bool = True
    ) -> None:
        version = 1 if known is None else known.version + 1
        stored = {**document, "_id": aggregate_id, "version": version}
        try:
            if known is None:
                await self._writes.insert(stored)
            else:
                selector = await self.collection.version_selector(aggregate_id, known.version)
                if not await self._writes.replace(selector, stored):
                    raise StaleAggregate(f"{self.collection.name} {aggregate_id} changed since it was read")
        except DuplicateKeyError as exc:
            self.forget(aggregate_id)
            self._existing[aggregate_id] = None
            while len(self._existing) > _EXISTING_REMEMBERED:
                self._existing.popitem(last=False)
            raise StaleAggregate(f"{self.collection.name} {aggregate_id} was created concurrently") from exc
        except BaseException:
            self.forget(aggregate_id)  # whether it was written is unknown: read it next time
            raise
        if remember:
            self._remember(aggregate_id, _Known(document=stored, version=version))

    def _remember(self, aggregate_id: str, known: _Known) -> None:
        self._cache[aggregate_id] = known
        self._cache.move_to_end(aggregate_id)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)


def _same(document: Document, stored: Document) -> bool:
    return all(stored.get(k) == v for k, v in document.items()) and all(
        k in document for k in stored if k not in ("_id", "version")
    )
