"""Consumer progress: lag is exported per group and partition; a partition with lag that does not move is a stall."""

from __future__ import annotations

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
