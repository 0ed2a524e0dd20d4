"""Consuming on the real broker: bad events go to the DLQ with the reason, transient failures are retried."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shared.contracts.envelope import Record, to_record
from shared.contracts.events import NotificationAck
from shared.contracts.topics import Recipient, dlq_topic
from shared.messaging.consuming import Consumer, DeadLetters, RetryPolicy, subscribe
from shared.messaging.kafka import EventPublisher, make_broker
from shared.messaging.kafka_auth import operator_options
from shared.runtime.errors import NotYetVisible, PermanentError
from tests.support.endpoints import Endpoints
from tests.support.probe import TopicProbe

pytestmark = pytest.mark.integration


class Behaviour:
    """A handler whose outcome depends on the notification id: ok, flaky (2 failures), broken, refused, unseen (never
    ready), awaited (ready once ``arrived``)."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.handled: list[str] = []
        self.arrived = False

    async def __call__(self, event: NotificationAck) -> None:
        kind = event.notification_id.split("-")[0]
        self.calls[event.notification_id] += 1
        if kind == "flaky" and self.calls[event.notification_id] <= 2:
            raise ConnectionError("store timeout")
        if kind == "broken":
            raise ConnectionError("store keeps timing out")
        if kind == "refused":
            raise PermanentError("case is closed")
        if kind == "unseen":
            raise NotYetVisible("the report of this case has not arrived yet")
        if kind == "awaited" and not self.arrived:
            raise NotYetVisible("what this event needs comes later")
        self.handled.append(event.notification_id)


def _ack(notification_id: str) -> NotificationAck:
    return NotificationAck(
        case_id="case-test-0001", notification_id=notification_id, recipient=Recipient.POLICE, acknowledged_by="politie"
    )


@pytest.fixture
async def topic(endpoints: Endpoints, run_id: str) -> str:
    name = f"test.{run_id}.consuming.{id(object())}"
    admin = AIOKafkaAdminClient(bootstrap_servers=endpoints.kafka_bootstrap, **operator_options())
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, 3, 1), NewTopic(dlq_topic(name), 3, 1)])
    finally:
        await admin.close()
    return name


@pytest.fixture
async def running(
    endpoints: Endpoints, topic: str, run_id: str, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[Behaviour, EventPublisher]]:
    lane_patience_s = request.node.get_closest_marker("urgent_lane")
    broker = make_broker(bootstrap=endpoints.kafka_bootstrap, service="test", security=operator_options())
    publisher = EventPublisher(broker, source="/weerbaar/test")
    behaviour = Behaviour()
    consumer = Consumer(
        service="test",
        topic=topic,
        model=NotificationAck,
        handler=behaviour,
        dead_letters=DeadLetters(publisher, service="test"),
        retry=RetryPolicy(attempts=4, first_backoff_s=0.01, max_backoff_s=0.05),
        lane_patience_s=lane_patience_s.args[0] if lane_patience_s else None,
    )
    subscribe(broker, consumer, group_id=f"test-{run_id}-{topic}")
    await broker.start()
    yield behaviour, publisher
    await broker.stop()


@pytest.fixture
async def dead(endpoints: Endpoints, topic: str) -> AsyncIterator[TopicProbe]:
    """Watches the topic's DLQ from before the test publishes."""
    probe = TopicProbe(endpoints.kafka_bootstrap, [dlq_topic(topic)])
    await probe.start()
    yield probe
    await probe.stop()


async def _until(condition: object, timeout: float = 30) -> None:
    async def poll() -> None:
        while not condition():  # type: ignore[operator]  # a zero-argument predicate
            await asyncio.sleep(0.05)

    await asyncio.wait_for(poll(), timeout)


async def test_poison_message_goes_to_dlq_with_reason_and_original_bytes(
    endpoints: Endpoints, topic: str, running: tuple[Behaviour, EventPublisher]
) -> None:
    behaviour, publisher = running
    probe = TopicProbe(endpoints.kafka_bootstrap, [dlq_topic(topic)])
    await probe.start()
    poison = b'{"case_id": "case-test-0001", "notification_id": 42'
    await publisher.send(Record(topic=topic, key=b"case-test-0001", value=poison, headers={"x-trace": b"t1"}))
    await publisher.publish(_ack("ok-after-poison"), topic=topic)
    (dead,) = await probe.wait_for(dlq_topic(topic), "case-test-0001")
    await probe.stop()
    assert dead.value == poison
    assert dead.headers["dlq_error_kind"] == "invalid_event"
    assert "schema validation failed" in dead.headers["dlq_reason"]
    assert dead.headers["dlq_source_topic"] == topic
    assert dead.headers["x-trace"] == "t1"
    await _until(lambda: "ok-after-poison" in behaviour.handled)


async def test_transient_failure_is_retried_until_it_succeeds(
    endpoints: Endpoints, topic: str, running: tuple[Behaviour, EventPublisher]
) -> None:
    behaviour, publisher = running
    await publisher.publish(_ack("flaky-1"), topic=topic)
    await _until(lambda: "flaky-1" in behaviour.handled)
    assert behaviour.calls["flaky-1"] == 3


async def test_lasting_failure_is_dead_lettered_after_bounded_retries_and_the_partition_moves_on(
    topic: str, running: tuple[Behaviour, EventPublisher], dead: TopicProbe
) -> None:
    behaviour, publisher = running
    broken = _ack("broken-1")
    await publisher.publish(broken, topic=topic)
    await publisher.publish(_ack("ok-after-broken"), topic=topic)
    (letter,) = await dead.wait_for(dlq_topic(topic), broken.case_id)
    assert behaviour.calls["broken-1"] == 4
    assert letter.headers["dlq_error_kind"] == "transient_exhausted"
    assert letter.headers["dlq_attempts"] == "4"
    assert "ConnectionError" in letter.headers["dlq_reason"]
    assert letter.value == to_record(broken, source="/weerbaar/test").value
    await _until(lambda: "ok-after-broken" in behaviour.handled)


async def test_permanent_error_is_dead_lettered_at_once(
    topic: str, running: tuple[Behaviour, EventPublisher], dead: TopicProbe
) -> None:
    behaviour, publisher = running
    await publisher.publish(_ack("refused-1"), topic=topic)
    (letter,) = await dead.wait_for(dlq_topic(topic), "case-test-0001")
    assert behaviour.calls["refused-1"] == 1
    assert letter.headers["dlq_reason"] == "case is closed"


@pytest.mark.urgent_lane(0.3)
async def test_an_urgent_event_missing_its_dependency_is_left_to_the_main_lane_and_the_lane_moves_on(
    topic: str, running: tuple[Behaviour, EventPublisher], dead: TopicProbe
) -> None:
    behaviour, publisher = running
    await publisher.publish(_ack("unseen-1"), topic=topic)
    await publisher.publish(_ack("ok-after-unseen"), topic=topic)  # same key: same partition, behind it
    await _until(lambda: "ok-after-unseen" in behaviour.handled)
    await dead.settle(1.0)
    assert behaviour.calls["unseen-1"] >= 2, "it waited a little first"
    assert dead.all(dlq_topic(topic), "case-test-0001") == [], "its main-topic copy is still due: no dead letter"


@pytest.mark.urgent_lane(60)
async def test_an_urgent_event_waiting_for_its_dependency_waits_aside_and_the_lane_takes_the_next_records(
    topic: str, running: tuple[Behaviour, EventPublisher], dead: TopicProbe
) -> None:
    """What an urgent event waits for may come only in a later batch of the same consumer: the lane must not wait in
    its batch (here the lane's patience, 60 s, is far beyond the test's 10 s)."""
    behaviour, publisher = running
    await publisher.publish(_ack("awaited-1"), topic=topic)
    await publisher.publish(_ack("ok-behind-it"), topic=topic)  # same key: same partition, behind it
    await _until(lambda: "ok-behind-it" in behaviour.handled, timeout=10)
    assert "awaited-1" not in behaviour.handled, "it is still waiting for what it needs"
    behaviour.arrived = True
    await _until(lambda: "awaited-1" in behaviour.handled, timeout=10)
    assert behaviour.handled.count("awaited-1") == 1
    await dead.settle(0.5)
    assert dead.all(dlq_topic(topic), "case-test-0001") == []
