"""Consumer progress: lag is exported per group and partition; a partition with lag that does not move is a stall."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import TopicPartition
from prometheus_client import REGISTRY

from shared.messaging.progress import ConsumerProgress

TP = TopicPartition("weerbaar.case.triaged.v1", 1)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def progress(clock: Clock) -> ConsumerProgress:
    return ConsumerProgress([], service="unit", stall_s=60, interval_s=5, clock=clock)


def test_lag_is_exported_per_group_and_partition() -> None:
    tracker = progress(Clock())
    tracker.observe("g-unit", TP, position=40, high=47)
    labels = {"service": "unit", "group": "g-unit", "topic": TP.topic, "partition": "1"}
    assert REGISTRY.get_sample_value("weerbaar_consumer_lag", labels) == 7
    tracker.forget_except(set())
    assert REGISTRY.get_sample_value("weerbaar_consumer_lag", labels) is None


def test_position_unchanged_with_lag_for_the_stall_period_is_a_stall() -> None:
    clock = Clock()
    tracker = progress(clock)
    tracker.observe("g", TP, position=10, high=20)
    clock.now += 59
    tracker.observe("g", TP, position=10, high=25)
    assert tracker.stalled() == {}
    clock.now += 2
    tracker.observe("g", TP, position=10, high=25)
    assert list(tracker.stalled()) == ["progress:g"]
    tracker.observe("g", TP, position=11, high=25)
    assert tracker.stalled() == {}


def test_a_consumer_busy_on_another_partition_is_not_stalled() -> None:
    clock = Clock()
    tracker = progress(clock)
    other = TopicPartition(TP.topic, 2)
    tracker.observe("g", TP, position=10, high=20)
    for step in range(10):
        clock.now += 30
        tracker.observe("g", other, position=step, high=100)
    assert tracker.stalled() == {}


def test_an_idle_consumer_without_lag_is_not_stalled() -> None:
    clock = Clock()
    tracker = progress(clock)
    tracker.observe("g", TP, position=30, high=30)
    clock.now += 3600
    assert tracker.stalled() == {}


def test_an_unreachable_store_or_broker_is_an_outage_not_a_reason_to_dead_letter() -> None:
    from aiokafka.errors import KafkaConnectionError
    from pymongo.errors import AutoReconnect

    from shared.messaging.consuming import is_outage
    from shared.runtime.errors import TransientError, Unavailable

    wrapped = TransientError("case store write failed")
    wrapped.__cause__ = AutoReconnect("connection refused")
    assert is_outage(wrapped)
    assert is_outage(KafkaConnectionError())
    assert is_outage(Unavailable("publish failed"))
    assert not is_outage(ConnectionError("the handler's own bug"))
    assert not is_outage(TransientError("not yet visible"))


def test_a_group_with_lag_exports_how_long_it_has_not_moved_and_zero_once_it_caught_up() -> None:
    clock = Clock()
    tracker = progress(clock)
    labels = {"service": "unit", "group": "g-idle"}
    tracker.observe("g-idle", TP, position=10, high=20)
    clock.now += 42
    tracker.observe("g-idle", TP, position=10, high=20)
    tracker.export_idle()
    assert REGISTRY.get_sample_value("weerbaar_consumer_idle_seconds", labels) == 42
    tracker.observe("g-idle", TP, position=20, high=20)
    tracker.export_idle()
    assert REGISTRY.get_sample_value("weerbaar_consumer_idle_seconds", labels) == 0


def test_a_reading_that_is_not_renewed_does_not_age_into_a_stall() -> None:
    """The samples must have seen the group stand still: a group the sampler could not read is not judged."""
    clock = Clock()
    tracker = progress(clock)
    tracker.observe("g", TP, position=10, high=11)
    clock.now += 120
    assert tracker.stalled() == {}


class _Consumer:
    """A consumer as the sampler sees it: its partitions, their end offsets and its positions (``None``: the position
    is still being fetched, so aiokafka's ``position`` waits)."""

    def __init__(self, group: str, positions: dict[TopicPartition, int | None], high: int) -> None:
        self._group_id = group
        self.positions = positions
        self.high = high

    def assignment(self) -> set[TopicPartition]:
        return set(self.positions)

    async def end_offsets(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        return dict.fromkeys(partitions, self.high)

    async def position(self, tp: TopicPartition) -> int:
        position = self.positions[tp]
        if position is None:
            await asyncio.Event().wait()
        assert position is not None
        return position


class _Subscriber:
    def __init__(self, consumer: _Consumer) -> None:
        self.consumer: Any = consumer


async def test_a_consumer_whose_position_waits_holds_up_no_other_consumer_s_reading() -> None:
    """After a restart one consumer may wait for its offsets while another works through its backlog: the working one
    is read every round (and is not stalled), and a round costs at most the interval."""
    clock = Clock()
    waiting = _Consumer("g-waiting", {TopicPartition("t.a", 0): None, TopicPartition("t.a", 1): 5}, high=9)
    working = _Consumer("g-working", {TopicPartition("t.b", 0): 0}, high=100)
    tracker = ConsumerProgress(
        [_Subscriber(waiting), _Subscriber(working)], service="unit", stall_s=60, interval_s=0.05, clock=clock
    )
    for step in range(1, 6):
        working.positions[TopicPartition("t.b", 0)] = step * 10
        async with asyncio.timeout(1):
            await tracker.sample_once()
        clock.now += 30
    assert tracker.stalled() == {"progress:g-waiting": "no progress for 120 s with lag 4"}
    labels = {"service": "unit", "group": "g-working", "topic": "t.b", "partition": "0"}
    assert REGISTRY.get_sample_value("weerbaar_consumer_lag", labels) == 50
