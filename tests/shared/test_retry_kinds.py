"""How the consumer treats each kind of failure (no broker needed: the dead-letter side is a fake)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import ConsumerRecord
from pymongo.errors import AutoReconnect

from shared.contracts.envelope import to_record
from shared.contracts.events import NotificationAck
from shared.contracts.topics import Recipient
from shared.messaging.arrivals import Arrivals
from shared.messaging.consuming import Consumer, RetryPolicy
from shared.runtime.errors import NotYetVisible, TransientError

EVENT = NotificationAck(
    case_id="case-test-0001", notification_id="n-1", recipient=Recipient.POLICE, acknowledged_by="politie"
)
RECORD = to_record(EVENT, source="/test")


class FakeDeadLetters:
    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, record: Any, *, reason: str, kind: str, attempts: int) -> None:
        self.sent.append(kind)


def _consumer(handler: Any, dead: FakeDeadLetters, *, patience_s: float = 300) -> Consumer:
    return Consumer(
        service="unit",
        topic=RECORD.topic,
        model=NotificationAck,
        handler=handler,
        dead_letters=dead,  # type: ignore[arg-type]  # a fake with the same send()
        retry=RetryPolicy(attempts=3, first_backoff_s=0.001, max_backoff_s=0.002, patience_s=patience_s),
    )


def _record() -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(RECORD.topic, 0, 1, 0, 0, RECORD.key, RECORD.value, None, 0, 0, list(RECORD.headers.items()))


def _failing(times: int, error: Exception) -> Any:
    calls = {"n": 0}

    async def handler(_: Any) -> None:
        calls["n"] += 1
        if calls["n"] <= times:
            raise error

    return handler


async def test_a_store_outage_is_waited_out_beyond_the_attempt_limit() -> None:
    dead = FakeDeadLetters()
    wrapped = TransientError("write failed")
    wrapped.__cause__ = AutoReconnect("refused")
    await _consumer(_failing(10, wrapped), dead).consume(_record())
    assert dead.sent == []


async def test_an_event_ahead_of_its_report_waits_within_patience_then_is_dead_lettered() -> None:
    dead = FakeDeadLetters()
    await _consumer(_failing(10, NotYetVisible("report not here yet")), dead).consume(_record())
    assert dead.sent == []
    await _consumer(_failing(1000, NotYetVisible("never comes")), dead, patience_s=0.05).consume(_record())
    assert dead.sent == ["transient_exhausted"]


async def test_other_transient_failures_stay_bounded() -> None:
    dead = FakeDeadLetters()
    await _consumer(_failing(10, TransientError("flaky")), dead).consume(_record())
    assert dead.sent == ["transient_exhausted"]


async def test_an_event_ahead_of_its_report_is_retried_as_soon_as_the_report_is_handled() -> None:
    arrivals = Arrivals()
    stored: set[str] = set()

    async def needs_the_report(event: NotificationAck) -> None:
        if event.case_id not in stored:
            raise NotYetVisible("report not here yet")

    slow_backoff = RetryPolicy(attempts=3, first_backoff_s=60, max_backoff_s=60)
    waiting = Consumer(
        service="unit",
        topic=RECORD.topic,
        model=NotificationAck,
        handler=needs_the_report,
        dead_letters=FakeDeadLetters(),  # type: ignore[arg-type]  # a fake with the same send()
        retry=slow_backoff,
        arrivals=arrivals,
    )
    task = asyncio.create_task(waiting.consume(_record()))
    await asyncio.sleep(0.01)
    assert not task.done()

    async def store_the_report(event: NotificationAck) -> None:
        stored.add(event.case_id)

    other = Consumer(
        service="unit",
        topic=RECORD.topic,
        model=NotificationAck,
        handler=store_the_report,
        dead_letters=FakeDeadLetters(),  # type: ignore[arg-type]
        retry=slow_backoff,
        arrivals=arrivals,
    )
    await other.consume(_record())  # the other consumer of the service handles the same case
    await asyncio.wait_for(task, 1.0)  # long before the 60 s backoff
