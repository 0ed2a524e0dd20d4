"""Rebuild the projection from the event log, from offset 0, into a fresh database.

The whole log is folded in memory (the same fold as the live consumers), then written with bulk inserts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition

from services.reporting.facts import FactSheet
from services.reporting.projection import SOURCES
from services.reporting.store import COLLECTION, ReportingStore
from shared.contracts.envelope import parse_value
from shared.contracts.events import Event
from shared.messaging.kafka_auth import operator_options
from shared.runtime.errors import InvalidEvent
from shared.store import mongo


@dataclass(frozen=True, slots=True)
class ReplayResult:
    events: int
    invalid: int
    changed: int


async def _partitions(consumer: AIOKafkaConsumer) -> list[TopicPartition]:
    found: list[TopicPartition] = []
    for topic in SOURCES:
        ids = consumer.partitions_for_topic(topic)
        if not ids:
            await consumer._client.force_metadata_update()
            ids = consumer.partitions_for_topic(topic)
        found += [TopicPartition(topic, p) for p in sorted(ids or ())]
    return found


async def replay(
    *,
    bootstrap: str,
    mongodb_uri: str,
    target_db: str,
    on_progress: Callable[[int, int], None] | None = None,
) -> ReplayResult:
    """Read every record of reporting's source topics up to their current end and fold it into ``target_db``."""
    client = mongo.make_client(mongodb_uri, app_name="weerbaar-replay")
    db = client[target_db]
    await db.drop_collection(COLLECTION)
    store = ReportingStore(db)
    await store.ensure_indexes()
    sheets: dict[str, FactSheet] = {}
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, **operator_options())
    await consumer.start()
    events = invalid = changed = 0
    try:
        partitions = await _partitions(consumer)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        start = await consumer.beginning_offsets(partitions)
        end = await consumer.end_offsets(partitions)
        total = sum(end[tp] - start[tp] for tp in partitions)
        pending = {tp for tp in partitions if end[tp] > start[tp]}
        while pending:
            batch = await consumer.getmany(*pending, timeout_ms=1000)
            for tp, records in batch.items():
                for record in records:
                    if record.offset >= end[tp]:
                        continue
                    events += 1
                    headers = {name: bytes(value) for name, value in (record.headers or ())}
                    try:
                        event = parse_value(SOURCES[tp.topic], record.value, headers)
                    except InvalidEvent:
                        invalid += 1  # the live consumer dead-letters these; they never counted
                        continue
                    if isinstance(event, Event) and FactSheet.concerns(event):
                        sheet = sheets.setdefault(event.case_id, FactSheet(event.case_id))
                        changed += sheet.take(event)
            pending = {tp for tp in pending if await consumer.position(tp) < end[tp]}
            if on_progress:
                on_progress(events, total)
        await store.insert(sheets.values())
    finally:
        await consumer.stop()
        await client.close()
    return ReplayResult(events=events, invalid=invalid, changed=changed)
