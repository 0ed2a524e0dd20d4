"""The audit chain anchored outside the database, and checked against its anchors on a schedule.

:class:`AuditAnchoring` publishes the chain's head (``AuditAnchored``) to ``weerbaar.audit.anchors.v1`` whenever it
moved (append-only, kept forever, never compacted; one partition). :func:`read_anchors` reads them back;
:class:`AuditWatch` verifies the chain against them (``AuditLog.verify``) and counts every failed verification in
``weerbaar_audit_verify_failures_total`` (alert on any increase). ``weerbaar audit verify`` does the same by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client import Counter

from shared.contracts.envelope import parse_value
from shared.contracts.events import AuditAnchored
from shared.contracts.topics import AUDIT_ANCHORS
from shared.messaging.kafka import EventPublisher
from shared.runtime.errors import InvalidEvent
from shared.web.audit import Anchor, AuditLog, Verdict

log = structlog.get_logger("weerbaar.audit")

VERIFY_FAILURES = Counter(
    "weerbaar_audit_verify_failures",
    "Scheduled audit verifications that found the chain broken or not matching its anchors",
    ["service"],
)
VERIFIED_ENTRIES = Counter("weerbaar_audit_verified", "Scheduled audit verifications that passed", ["service"])


@dataclass
class AuditAnchoring:
    """Anchors the head whenever it moved since the last anchor this process wrote."""

    audit: AuditLog
    publisher: EventPublisher
    service: str
    _last: int = 0

    async def anchor(self) -> Anchor | None:
        head = await self.audit.current_head()
        if head is None or head[0] <= self._last:
            return None
        anchor = self.audit.anchor(*head)
        await self.publisher.publish(
            AuditAnchored(log=anchor.log, seq=anchor.seq, hash=anchor.hash, mac=anchor.mac, service=self.service)
        )
        self._last = anchor.seq
        return anchor


@dataclass
class AnchorReader:
    """Reads the anchors topic from the start, then only what is new on each call (positions kept in memory)."""

    bootstrap: str
    security: dict[str, Any] = field(default_factory=dict)
    """How it logs in to the broker (``shared/messaging/kafka_auth.py``)."""
    anchors: list[Anchor] = field(default_factory=list)
    _positions: dict[TopicPartition, int] = field(default_factory=dict)

    async def read(self) -> list[Anchor]:
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False, **self.security)
        await consumer.start()
        try:
            ids = consumer.partitions_for_topic(AUDIT_ANCHORS)
            if not ids:
                await consumer._client.force_metadata_update()
                ids = consumer.partitions_for_topic(AUDIT_ANCHORS) or set()
            partitions = [TopicPartition(AUDIT_ANCHORS, p) for p in sorted(ids)]
            if not partitions:
                return self.anchors
            consumer.assign(partitions)
            for tp in partitions:
                consumer.seek(tp, self._positions.get(tp, 0))
            end = await consumer.end_offsets(partitions)
            while [tp for tp in partitions if await consumer.position(tp) < end[tp]]:
                batch = await consumer.getmany(timeout_ms=1000)
                for records in batch.values():
                    for record in records:
                        if record.value is None:
                            continue
                        try:
                            event = parse_value(AuditAnchored, record.value, dict(record.headers))
                        except InvalidEvent as exc:  # not an anchor: it proves nothing, and breaks nothing
                            log.warning("audit_anchor_invalid", offset=record.offset, reason=str(exc))
                            continue
                        self.anchors.append(Anchor(event.log, event.seq, event.hash, event.mac))
            for tp in partitions:
                self._positions[tp] = await consumer.position(tp)
            return self.anchors
        finally:
            await consumer.stop()


async def verify_with_anchors(audit: AuditLog, reader: AnchorReader) -> Verdict:
    return await audit.verify(await reader.read())


@dataclass
class AuditWatch:
    """The scheduled verification: logs and counts a failure (the chain and its anchors are read afresh each run)."""

    audit: AuditLog
    reader: AnchorReader
    service: str

    async def check(self) -> Verdict:
        verdict = await verify_with_anchors(self.audit, self.reader)
        if verdict.ok:
            VERIFIED_ENTRIES.labels(self.service).inc()
            log.info("audit_verified", entries=verdict.entries, anchors=verdict.anchors)
        else:
            VERIFY_FAILURES.labels(self.service).inc()
            log.error("audit_verify_failed", broken=verdict.broken, problem=verdict.problem)
        return verdict
