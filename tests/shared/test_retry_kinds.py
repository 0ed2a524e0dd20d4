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


def _urgent(handler: Any, arrivals: Arrivals, *, patience_s: float, dead: FakeDeadLetters | None = None) -> Consumer:
    return Consumer(
        service="unit",
        topic=RECORD.topic,
        model=NotificationAck,
        handler=handler,
        dead_letters=dead or FakeDeadLetters(),  # type: ignore[arg-type]  # a fake with the same send()
        retry=RetryPolicy(attempts=3, first_backoff_s=0.001, max_backoff_s=0.002),
        lane_patience_s=patience_s,
        arrivals=arrivals,
    )


async def test_an_urgent_event_ahead_of_its_report_waits_aside_and_is_tried_again_once_its_case_moves() -> None:
    arrivals = Arrivals()
    stored: set[str] = set()
    tries: list[str] = []

    async def needs_the_report(event: NotificationAck) -> None:
        tries.append(event.case_id)
        if event.case_id not in stored:
            raise NotYetVisible("report not here yet")

    urgent = _urgent(needs_the_report, arrivals, patience_s=60)
    await asyncio.wait_for(urgent.consume(_record()), 1.0)  # the lane is not held: it returns at once
    await asyncio.sleep(0.05)
    assert tries == ["case-test-0001"], "no retry before its case moved: it would only cost the store"
    stored.add("case-test-0001")
    arrivals.announce("case-test-0001")  # another consumer of the service handled the report
    await _drained(urgent)
    assert tries == ["case-test-0001", "case-test-0001"], "tried again as soon as the report was handled"


async def test_an_urgent_event_whose_report_never_comes_is_tried_once_and_left_to_the_main_lane() -> None:
    tries: list[str] = []
    dead = FakeDeadLetters()

    async def never_ready(event: NotificationAck) -> None:
        tries.append(event.case_id)
        raise NotYetVisible("a bulk-fed report: it travels the main topic")

    urgent = _urgent(never_ready, Arrivals(), patience_s=0.05, dead=dead)
    await urgent.consume(_record())
    await _drained(urgent)
    assert tries == ["case-test-0001"]
    assert dead.sent == [], "its main-topic copy is still due: no dead letter"


async def _drained(consumer: Consumer) -> None:
    """Until the events waiting aside are done (handled, or left to the main lane)."""
    async with asyncio.timeout(1.0):
        while len(consumer.waiting_aside):
            await asyncio.sleep(0.005)
