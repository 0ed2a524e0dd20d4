"""What the system did, read back from the topics (from offset 0), the store and the services."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import ConsumerRecord
from pymongo.asynchronous.database import AsyncDatabase

from services.notify.domain import notification_id
from shared.contracts import topics
from shared.contracts.events import CaseTriaged
from shared.messaging.kafka_auth import operator_options
from shared.store.mongo import Document


@dataclass(frozen=True)
class Rec:
    topic: str
    headers: dict[str, str]
    value: bytes


async def read_raw(bootstrap: str, names: list[str]) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record the topics hold now, from their start to their current end, with a plain consumer."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, **operator_options())
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        partitions = [TopicPartition(t, p) for t in names for p in sorted(consumer.partitions_for_topic(t) or ())]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        out: list[ConsumerRecord[bytes, bytes]] = []
        pending = {tp for tp, offset in end.items() if offset > 0}
        while pending:
            batch = await consumer.getmany(timeout_ms=1000)
            for tp, records in batch.items():
                out += [r for r in records if r.offset < end[tp]]
            for tp in list(pending):
                if await consumer.position(tp) >= end[tp]:
                    pending.discard(tp)
        return out
    finally:
        await consumer.stop()


async def read_all(bootstrap: str, names: list[str]) -> list[Rec]:
    """Every record of the topics, from offset 0 to the current end, with a plain consumer."""
    return [
        Rec(r.topic, {k: bytes(v).decode(errors="replace") for k, v in r.headers}, r.value or b"")
        for r in await read_raw(bootstrap, names)
    ]


async def group_lag(bootstrap: str, prefix: str) -> dict[str, int]:
    """Committed lag of every consumer group of this run (end offset minus committed offset)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **operator_options())
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, **operator_options())
    await admin.start()
    await consumer.start()
    try:
        groups = [g[0] for g in await admin.list_consumer_groups() if str(g[0]).startswith(prefix)]
        lag: dict[str, int] = {}
        for group in groups:
            offsets = await admin.list_consumer_group_offsets(group)
            if not offsets:
                continue
            ends = await consumer.end_offsets(list(offsets))
            lag[group] = sum(max(ends[tp] - meta.offset, 0) for tp, meta in offsets.items())
        return lag
    finally:
        await consumer.stop()
        await admin.close()


async def pending_outboxes(db: AsyncDatabase[Document]) -> dict[str, int]:
    found = {}
    for name in await db.list_collection_names():
        count = await db[name].count_documents({"outbox.0": {"$exists": True}})
        if count:
            found[name] = count
    return found


@dataclass
class Triage:
    """The assessments on the triaged topic, deduplicated by event id."""

    by_event: dict[str, CaseTriaged] = field(default_factory=dict)

    @classmethod
    def of(cls, records: list[Rec]) -> Triage:
        found = cls()
        for r in records:
            event = CaseTriaged.model_validate_json(r.value)
            found.by_event[event.event_id] = event
        return found

    def assessments_per_case(self) -> Counter[str]:
        return Counter(e.case_id for e in self.by_event.values())

    def expected_notifications(self) -> dict[str, tuple[str, str]]:
        """notification id -> (case, recipient) for every route of every assessment."""
        return {
            notification_id(e.case_id, route.recipient, e.assessment_no): (e.case_id, route.recipient.value)
            for e in self.by_event.values()
            for route in e.routes
        }

    def latest_levels(self) -> dict[str, tuple[int, int]]:
        """level -> (incidents, affected office holders), from the latest assessment of every case."""
        latest: dict[str, CaseTriaged] = {}
        for e in self.by_event.values():
            if e.case_id not in latest or e.assessment_no > latest[e.case_id].assessment_no:
                latest[e.case_id] = e
        incidents = Counter(e.level.value for e in latest.values())
        refs: dict[str, set[str]] = defaultdict(set)
        for e in latest.values():
            refs[e.level.value].add(e.facts.office_holder_ref)
        return {level: (n, len(refs[level])) for level, n in incidents.items()}


@dataclass
class Sent:
    """First sendings (resend 0) on the notify topics: the event ids seen per notification id."""

    event_ids: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    records: int = 0

    @classmethod
    def of(cls, records: list[Rec]) -> Sent:
        found = cls()
        for r in records:
            body: dict[str, Any] = json.loads(r.value)
            if body.get("resend_no", 0) != 0:
                continue
            found.records += 1
            found.event_ids[body["notification_id"]].add(r.headers.get("ce_id", ""))
        return found


def dead_letters(records: list[Rec]) -> dict[str, dict[str, str]]:
    """ce_id -> {service: reason} for every record in the DLQs."""
    found: dict[str, dict[str, str]] = defaultdict(dict)
    for r in records:
        found[r.headers.get("ce_id", "?")][r.headers.get("dlq_service", "?")] = r.headers.get("dlq_reason", "")
    return found


NOTIFY_TOPICS = [topics.notify_topic(r) for r in topics.Recipient]


async def notify_topics(bootstrap: str) -> list[str]:
    """Every recipient's topic, the burgemeester's per municipality included (they appear on first use)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, **operator_options())
    await consumer.start()
    try:
        names = await consumer.topics()
    finally:
        await consumer.stop()
    municipal = sorted(n for n in names if n.startswith("weerbaar.notify.burgemeester.") and n.endswith(".v1"))
    return [*NOTIFY_TOPICS, *(n for n in municipal if n not in NOTIFY_TOPICS)]


DLQ_TOPICS = [topics.dlq_topic(t) for t in topics.CONSUMED_TOPICS]
