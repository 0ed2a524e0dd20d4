"""Transactional outbox inside the aggregate document: the event is stored by the same write that changes state.

FerretDB (and MongoDB without a replica set) has no multi-document transactions, so each aggregate carries an
``outbox`` array of records still to publish. A write appends to it; ``flush`` publishes and pulls what was sent;
the relay loop retries whatever a crash or a broker outage left behind. Consumers dedupe by event id.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import structlog
from pymongo.asynchronous.collection import AsyncCollection

from shared import metrics
from shared.contracts.envelope import Record, to_record
from shared.contracts.events import Envelope
from shared.errors import TransientError
from shared.kafka import EventPublisher
from shared.mongo import Document

log = structlog.get_logger("weerbaar.outbox")


def outbox_entry(event: Envelope, *, source: str, topic: str | None = None, key: str | None = None) -> Document:
    """The stored form of an event waiting to be published."""
    record = to_record(event, source=source, topic=topic, key=key)
    return {
        "event_id": event.event_id,
        "topic": record.topic,
        "key": record.key.decode(),
        "value": record.value.decode(),
        "headers": {name: value.decode() for name, value in record.headers.items()},
    }


def _record(entry: Document) -> Record:
    return Record(
        topic=entry["topic"],
        key=entry["key"].encode(),
        value=entry["value"].encode(),
        headers={name: str(value).encode() for name, value in entry["headers"].items()},
    )


class Outbox:
    """Publishes the pending events of aggregate documents, in order, and removes them once acknowledged."""

    def __init__(
        self,
        publisher: EventPublisher,
        *,
        service: str,
        interval_s: float,
        inline_timeout_s: float = 1.0,
        full_scan_s: float = 30.0,
    ) -> None:
        self._publisher = publisher
        self._service = service
        self._interval_s = interval_s
        self._inline_timeout_s = inline_timeout_s
        self._full_scan_s = full_scan_s
        self._collections: list[AsyncCollection[Document]] = []
        # Scan at start: a crash may have left events behind. Afterwards only when a flush failed (or was cut off),
        # and every ``full_scan_s`` as a safety net: every writer flushes what it stored, and on FerretDB the
        # ``outbox.0`` query is a full collection scan, which at every tick took the store's whole CPU.
        self._dirty = True
        self._flushing: dict[tuple[str, Any], asyncio.Lock] = {}
        self._last_scan = float("-inf")

    def watch(self, collection: AsyncCollection[Document]) -> None:
        self._collections.append(collection)

    async def flush(
        self, collection: AsyncCollection[Document], doc_id: Any, *, created_with: list[Document] | None = None
    ) -> int:
        """Publish the document's pending events; returns how many were sent.

        One flush per document at a time in this process: two lanes delivering the same decision must not publish
        the same entries twice (across processes, consumers still dedupe by event id). ``created_with``: the outbox
        the caller has just inserted the document with, published without reading it back (a document this new
        holds nothing older; what others append later they flush themselves). One store round trip less on the
        acute path.
        """
        key = (collection.name, doc_id)
        lock = self._flushing.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                if created_with is not None:
                    doc: Document | None = {"_id": doc_id, "outbox": created_with}
                else:
                    doc = await collection.find_one({"_id": doc_id}, {"outbox": 1})
                return await self._flush_doc(collection, doc)
        finally:
            if not lock.locked() and self._flushing.get(key) is lock:
                del self._flushing[key]

    async def _flush_doc(self, collection: AsyncCollection[Document], doc: Document | None) -> int:
        if not doc or not doc.get("outbox"):
            return 0
        sent: list[Document] = []
        try:
            try:
                for entry in doc["outbox"]:
                    await self._publisher.send(_record(entry))
                    metrics.PUBLISHED.labels(self._service, entry["topic"]).inc()
                    sent.append(entry)
            finally:
                if sent:
                    # $pullAll with the entries exactly as read: works on MongoDB and FerretDB alike
                    # (FerretDB ignores $pull with a condition).
                    await collection.update_one({"_id": doc["_id"]}, {"$pullAll": {"outbox": sent}})
        except BaseException:
            self._dirty = True  # something stays behind: the relay looks again at its next tick
            raise
        return len(sent)

    async def flush_quietly(
        self, collection: AsyncCollection[Document], doc_id: Any, *, created_with: list[Document] | None = None
    ) -> None:
        """Flush now if the broker answers; otherwise leave it to the relay (the event is safe in the store)."""
        try:
            await asyncio.wait_for(self.flush(collection, doc_id, created_with=created_with), self._inline_timeout_s)
        except (TransientError, TimeoutError) as exc:
            log.warning("outbox_deferred", error=str(exc) or type(exc).__name__)

    async def relay_once(self) -> int:
        pending = 0
        sent = 0
        for collection in self._collections:
            async for doc in collection.find({"outbox.0": {"$exists": True}}, {"outbox": 1}).limit(500):
                pending += 1
                sent += await self._flush_doc(collection, doc)
        metrics.OUTBOX_PENDING.labels(self._service).set(pending)
        return sent

    async def relay_if_due(self) -> int:
        """One tick of the relay (``shared.periodic``): scan when a flush failed, after a start, or as a safety net."""
        if not (self._dirty or time.monotonic() - self._last_scan >= self._full_scan_s):
            return 0
        self._dirty = False
        self._last_scan = time.monotonic()
        try:
            sent = await self.relay_once()
        except BaseException:
            self._dirty = True  # look again next tick
            raise
        if sent:
            self._dirty = True  # look once more: a clean scan ends the recovery
            log.info("outbox_relayed", count=sent)
        return sent
