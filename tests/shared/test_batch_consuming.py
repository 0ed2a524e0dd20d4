"""Batches on the real broker: a case's events together and in order, bad records dead-lettered, commits per batch."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from faststream.kafka import KafkaBroker

from shared.contracts.envelope import Record, to_record
from shared.contracts.events import NotificationAck
from shared.contracts.topics import Recipient, dlq_topic
from shared.messaging.consuming import Batching, Consumer, DeadLetters, RetryPolicy, subscribe
from shared.messaging.kafka import EventPublisher, make_broker
from shared.messaging.kafka_auth import operator_options
from shared.runtime.errors import PermanentError
from tests.support.endpoints import Endpoints
from tests.support.probe import TopicProbe

pytestmark = pytest.mark.integration

SOURCE = "/weerbaar/test"


@dataclass
class Recorder:
    """Per-case calls of the fast path and the one-by-one path; refuses notification ids starting with 'refused'."""

    per_case: dict[str, list[list[str]]] = field(default_factory=lambda: defaultdict(list))
    one_by_one: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    async def handle(self, event: NotificationAck) -> None:
        if event.notification_id.startswith("refused"):
            raise PermanentError("refused by the domain")
        self.one_by_one[event.case_id].append(event.notification_id)

    async def handle_case(self, case_id: str, events: list[NotificationAck]) -> None:
        ids = [e.notification_id for e in events]
        if any(i.startswith("refused") for i in ids):
            raise PermanentError("one of them is refused")
        self.per_case[case_id].append(ids)

    def handled(self, case_id: str) -> list[str]:
        return [i for call in self.per_case[case_id] for i in call] + self.one_by_one[case_id]


def _ack(case_id: str, notification_id: str) -> NotificationAck:
    return NotificationAck(
        case_id=case_id, notification_id=notification_id, recipient=Recipient.POLICE, acknowledged_by="politie"
    )


@pytest.fixture
async def topic(endpoints: Endpoints, run_id: str) -> str:
    name = f"test.{run_id}.batches.{uuid.uuid4().hex[:12]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=endpoints.kafka_bootstrap, **operator_options())
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, 3, 1), NewTopic(dlq_topic(name), 3, 1)])
    finally:
        await admin.close()
    return name


@dataclass
class Running:
    recorder: Recorder
    publisher: EventPublisher
    group: str
    consumer_broker: KafkaBroker

    async def start_consuming(self) -> None:
        """Records published before this arrive in the consumer's first fetch: one batch."""
        await self.consumer_broker.start()


@pytest.fixture
async def running(endpoints: Endpoints, topic: str, run_id: str) -> AsyncIterator[Running]:
    producer = make_broker(bootstrap=endpoints.kafka_bootstrap, service="test-producer", security=operator_options())
    await producer.start()
    broker = make_broker(bootstrap=endpoints.kafka_bootstrap, service="test", security=operator_options())
    recorder = Recorder()
    consumer = Consumer(
        service="test",
        topic=topic,
        model=NotificationAck,
        handler=recorder.handle,
        dead_letters=DeadLetters(EventPublisher(broker, source="/weerbaar/test"), service="test"),
        retry=RetryPolicy(attempts=3, first_backoff_s=0.01, max_backoff_s=0.05),
        case_handler=recorder.handle_case,
        concurrency=4,
    )
    group = f"test-{run_id}-{topic}"
    subscribe(broker, consumer, group_id=group, batching=Batching(max_records=500))
    yield Running(recorder, EventPublisher(producer, source="/weerbaar/test"), group, broker)
    await broker.stop()
    await producer.stop()


async def _until(condition: object, timeout: float = 30) -> None:
    async def poll() -> None:
        while not condition():  # type: ignore[operator]  # a zero-argument predicate
            await asyncio.sleep(0.05)

    await asyncio.wait_for(poll(), timeout)


async def test_a_cases_events_in_one_batch_reach_the_case_handler_together_and_in_order(
    endpoints: Endpoints, topic: str, running: Running
) -> None:
    cases = {f"case-000{n}": [f"n{n}-{i}" for i in range(5)] for n in range(6)}
    await running.publisher.send_many(
        [to_record(_ack(case, nid), source=SOURCE, topic=topic) for case, ids in cases.items() for nid in ids]
    )
    await running.start_consuming()
    await _until(lambda: all(running.recorder.handled(case) == ids for case, ids in cases.items()))
    assert all(len(running.recorder.per_case[case]) == 1 for case in cases), "one call per case and batch"
    assert await _committed(endpoints, topic, running.group, 30) == 30, "the batch was committed"


async def test_a_refused_record_is_dead_lettered_and_the_rest_of_its_case_is_handled_one_by_one(
    endpoints: Endpoints, topic: str, running: Running
) -> None:
    dead = TopicProbe(endpoints.kafka_bootstrap, [dlq_topic(topic)])
    await dead.start()
    ids = ["ok-1", "refused-2", "ok-3"]
    await running.publisher.send_many([to_record(_ack("case-mixed", nid), source=SOURCE, topic=topic) for nid in ids])
    poison = Record(topic=topic, key=b"case-poison", value=b'{"case_id": 42', headers={})
    await running.publisher.send_many(
        [poison, to_record(_ack("case-poison", "ok-after-poison"), source=SOURCE, topic=topic)]
    )
    await running.start_consuming()
    (letter,) = await dead.wait_for(dlq_topic(topic), "case-mixed")
    (bad,) = await dead.wait_for(dlq_topic(topic), "case-poison")
    await dead.stop()
    assert letter.headers["dlq_reason"] == "refused by the domain"
    assert bad.value == poison.value
    await _until(lambda: running.recorder.handled("case-mixed") == ["ok-1", "ok-3"])
    await _until(lambda: running.recorder.handled("case-poison") == ["ok-after-poison"])
    assert await _committed(endpoints, topic, running.group, 5) == 5


async def _committed(endpoints: Endpoints, topic: str, group: str, expected: int, timeout: float = 30) -> int:
    """Sum of the group's committed offsets over the topic's partitions, once it reaches ``expected`` (or the end)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=endpoints.kafka_bootstrap, group_id=group, enable_auto_commit=False, **operator_options()
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(3)]
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            total = sum([(await consumer.committed(tp)) or 0 for tp in partitions])
            if total >= expected or asyncio.get_running_loop().time() > deadline:
                return total
            await asyncio.sleep(0.2)
    finally:
        await consumer.stop()


async def test_a_cases_events_from_two_topics_read_together_reach_the_case_handler_in_one_call(
    endpoints: Endpoints, topic: str, run_id: str
) -> None:
    other = f"{topic}.other"
    admin = AIOKafkaAdminClient(bootstrap_servers=endpoints.kafka_bootstrap, **operator_options())
    await admin.start()
    try:
        await admin.create_topics([NewTopic(other, 3, 1), NewTopic(dlq_topic(other), 3, 1)])
    finally:
        await admin.close()
    producer = make_broker(bootstrap=endpoints.kafka_bootstrap, service="test-producer", security=operator_options())
    await producer.start()
    publisher = EventPublisher(producer, source=SOURCE)
    await publisher.send_many(
        [
            to_record(_ack("case-0001", "main-1"), source=SOURCE, topic=topic),
            to_record(_ack("case-0001", "other-1"), source=SOURCE, topic=other),
            to_record(_ack("case-0002", "other-2"), source=SOURCE, topic=other),
        ]
    )
    recorder = Recorder()
    from_other: list[str] = []

    async def on_other(event: NotificationAck) -> None:
        from_other.append(event.notification_id)

    broker = make_broker(bootstrap=endpoints.kafka_bootstrap, service="test", security=operator_options())
    consumer = Consumer(
        service="test",
        topic=topic,
        model=NotificationAck,
        handler=recorder.handle,
        dead_letters=DeadLetters(EventPublisher(broker, source=SOURCE), service="test"),
        retry=RetryPolicy(attempts=3, first_backoff_s=0.01, max_backoff_s=0.05),
        case_handler=recorder.handle_case,
        also={other: (NotificationAck, on_other)},
    )
    subscribe(broker, consumer, group_id=f"test-{run_id}-together", batching=Batching(max_records=500))
    await broker.start()
    try:
        await _until(lambda: from_other == ["other-2"] and recorder.per_case["case-0001"])
        assert sorted(recorder.per_case["case-0001"][0]) == ["main-1", "other-1"], "both topics, one call"
        assert recorder.one_by_one == {}, "a case with one event goes to its own topic's handler"
    finally:
        await broker.stop()
        await producer.stop()


async def test_a_burst_of_acute_records_is_handled_side_by_side_without_a_case_handler(
    endpoints: Endpoints, topic: str, run_id: str
) -> None:
    """The acute lane's shape (``Runtime.consume`` of an urgent topic): small batches, every case of a batch at once.

    Each handler waits until ten cases are in flight together: one record at a time would never get there.
    """
    cases = [f"case-acute-{n:02d}" for n in range(10)]
    in_flight: set[str] = set()
    together = asyncio.Event()
    handled: dict[str, list[str]] = defaultdict(list)

    async def handle(event: NotificationAck) -> None:
        in_flight.add(event.case_id)
        if len(in_flight) == len(cases):
            together.set()
        await asyncio.wait_for(together.wait(), 20)
        handled[event.case_id].append(event.notification_id)

    producer = make_broker(bootstrap=endpoints.kafka_bootstrap, service="test-producer", security=operator_options())
    await producer.start()
    await EventPublisher(producer, source=SOURCE).send_many(
        [to_record(_ack(case, f"{case}-{i}"), source=SOURCE, topic=topic) for case in cases for i in range(2)]
    )
    broker = make_broker(bootstrap=endpoints.kafka_bootstrap, service="test", security=operator_options())
    consumer = Consumer(
        service="test",
        topic=topic,
        model=NotificationAck,
        handler=handle,
        dead_letters=DeadLetters(EventPublisher(broker, source=SOURCE), service="test"),
        retry=RetryPolicy(attempts=1, first_backoff_s=0.01, max_backoff_s=0.05),
        concurrency=64,
    )
    subscribe(broker, consumer, group_id=f"test-{run_id}-acute-burst", batching=Batching(max_records=64))
    await broker.start()
    try:
        await _until(lambda: sum(map(len, handled.values())) == 2 * len(cases))
        assert together.is_set(), "the cases of the burst were in flight at the same time"
        assert all(handled[case] == [f"{case}-0", f"{case}-1"] for case in cases), "each case in order"
    finally:
        await broker.stop()
        await producer.stop()
