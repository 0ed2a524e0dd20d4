"""Read what was published to topics, from a point in time, without joining any consumer group."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from shared.contracts.topics import Recipient, burgemeester_topic, notify_topic
from shared.messaging.kafka_auth import operator_options

SAMPLE_MUNICIPALITY = "GM0344"
"""The municipality of the sample reports (tests/support/samples.py)."""


def delivered_on(recipient: Recipient, municipality: str = SAMPLE_MUNICIPALITY) -> str:
    """The topic a recipient's notification of a sample report is published on."""
    return burgemeester_topic(municipality) if recipient is Recipient.BURGEMEESTER else notify_topic(recipient)


async def ensure_topics(bootstrap: str, names: list[str], *, partitions: int = 3) -> None:
    """Create the topics of ``names`` that do not exist yet."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="weerbaar-test-probe", **operator_options())
    await admin.start()
    try:
        missing = set(names) - set(await admin.list_topics())
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # created meanwhile (by a first publish): fine
                await admin.create_topics(
                    [NewTopic(n, num_partitions=partitions, replication_factor=1) for n in missing]
                )
    finally:
        await admin.close()


@dataclass(frozen=True)
class Seen:
    topic: str
    key: str
    value: bytes
    headers: dict[str, str]
    timestamp_ms: int = 0
    """The record's timestamp (the producer's create time, in ms since the epoch)."""

    def json(self) -> Any:
        return json.loads(self.value)


class TopicProbe:
    """Remembers the end of each topic at start, then reads everything that comes after as it comes (a hand-off
    topic keeps a record only until the services have it: shared/messaging/handoff.py)."""

    def __init__(self, bootstrap: str, topics: list[str]) -> None:
        self._bootstrap = bootstrap
        self._topics = topics
        self._consumer: AIOKafkaConsumer | None = None
        self._seen: list[Seen] = []
        self._pump: asyncio.Task[None] | None = None

    async def start(self) -> None:
        # A municipality's burgemeester topic appears on first use: watching it before then must not miss it.
        await ensure_topics(self._bootstrap, self._topics)
        consumer = AIOKafkaConsumer(bootstrap_servers=self._bootstrap, enable_auto_commit=False, **operator_options())
        await consumer.start()
        partitions = []
        for topic in self._topics:
            for _ in range(50):
                ids = consumer.partitions_for_topic(topic)
                if ids:
                    break
                await consumer._client.force_metadata_update()
            partitions += [TopicPartition(topic, p) for p in sorted(ids or ())]
        consumer.assign(partitions)
        await consumer.seek_to_end(*partitions)
        for tp in partitions:
            await consumer.position(tp)
        self._consumer = consumer
        self._pump = asyncio.create_task(self._read_on())

    async def _read_on(self) -> None:
        while True:
            await self._poll()

    async def stop(self) -> None:
        if self._pump:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
        if self._consumer:
            await self._consumer.stop()

    async def _poll(self) -> None:
        assert self._consumer
        batch = await self._consumer.getmany(timeout_ms=200)
        for records in batch.values():
            for record in records:
                self._seen.append(
                    Seen(
                        topic=record.topic,
                        key=(record.key or b"").decode(),
                        value=record.value or b"",
                        headers={k: v.decode(errors="replace") for k, v in record.headers},
                        timestamp_ms=record.timestamp,
                    )
                )

    async def wait_for(self, topic: str, key: str, *, count: int = 1, timeout: float = 30.0) -> list[Seen]:
        """Records on ``topic`` with ``key``; waits until ``count`` arrived or fails after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while True:
            found = [s for s in self._seen if s.topic == topic and s.key == key]
            if len(found) >= count:
                return found
            if self._pump is not None and self._pump.done():
                self._pump.result()  # the reading failed: the wait fails with its cause
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(found)} of {count} record(s) with key {key} on {topic} in {timeout} s")
            await asyncio.sleep(0.05)

    async def settle(self, seconds: float) -> None:
        """Keep reading for a while, to see that nothing more (e.g. a duplicate) arrives."""
        await asyncio.sleep(seconds)

    def keys(self, topic: str) -> set[str]:
        """Every key seen on ``topic`` so far."""
        return {s.key for s in self._seen if s.topic == topic}

    def all(self, topic: str, key: str) -> list[Seen]:
        return [s for s in self._seen if s.topic == topic and s.key == key]
