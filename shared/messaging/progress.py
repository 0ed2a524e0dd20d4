"""Consumer progress: lag per group and partition as a metric, and stalls that make a service unready."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from aiokafka import TopicPartition

from shared.runtime import metrics

log = structlog.get_logger("weerbaar.progress")


@dataclass(slots=True)
class _PartitionState:
    position: int = -1
    lag: int = 0
    moved_at: float = field(default_factory=time.monotonic)
    seen_at: float = field(default_factory=time.monotonic)
    """When a sample last read this partition: a stall is only what the samples saw, never the time since."""


class ConsumerProgress:
    """Samples position and high watermark of every assigned partition; remembers when each last moved.

    A consumer group is stalled when it has lag and the position of none of its partitions has changed for
    ``stall_s`` seconds: it holds partitions but does not work through them (a hung handler, or aiokafka stuck
    after a broker restart). The stall is measured between samples (moved at, last seen at), not from the last
    movement until now: a sample that could not read a group (a position still being fetched after a rebalance, a
    slow answer) says nothing about it, and the group's last reading must not age into a stall meanwhile.
    """

    def __init__(
        self,
        subscribers: Sequence[Any],
        *,
        service: str,
        stall_s: float,
        interval_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._subscribers = subscribers
        self._service = service
        self._stall_s = stall_s
        self._interval_s = interval_s
        self._clock = clock
        self._state: dict[tuple[str, str, int], _PartitionState] = {}

    def observe(self, group: str, tp: TopicPartition, *, position: int, high: int) -> None:
        """Record one sample of a partition (also the seam the unit tests use)."""
        key = (group, tp.topic, tp.partition)
        now = self._clock()
        state = self._state.setdefault(key, _PartitionState(moved_at=now))
        if position != state.position:
            state.position = position
            state.moved_at = now
        state.seen_at = now
        state.lag = max(high - position, 0)
        metrics.CONSUMER_LAG.labels(self._service, group, tp.topic, str(tp.partition)).set(state.lag)

    def forget_except(self, live: set[tuple[str, str, int]]) -> None:
        for key in set(self._state) - live:
            del self._state[key]
            metrics.CONSUMER_LAG.remove(self._service, key[0], key[1], str(key[2]))

    def stalled(self) -> dict[str, str]:
        """Consumer groups with lag none of whose partitions has moved for the stall period.

        Judged per group, not per partition: one consumer works through its partitions one fetch at a time, so a
        busy consumer may leave one partition waiting for minutes while it makes progress on another.
        """
        problems: dict[str, str] = {}
        for group, (lag, idle) in self._groups().items():
            if lag > 0 and idle >= self._stall_s:
                problems[f"progress:{group}"] = f"no progress for {idle:.0f} s with lag {lag}"
        return problems

    def _groups(self) -> dict[str, tuple[int, float]]:
        """Per consumer group: its lag, and for how long the samples saw none of its partitions move."""
        groups: dict[str, tuple[int, float, float]] = {}
        for (group, _, _), state in self._state.items():
            lag, moved_at, seen_at = groups.get(group, (0, float("-inf"), float("-inf")))
            groups[group] = (lag + state.lag, max(moved_at, state.moved_at), max(seen_at, state.seen_at))
        return {group: (lag, seen_at - moved_at) for group, (lag, moved_at, seen_at) in groups.items()}

    def total_lag(self) -> int:
        return sum(state.lag for state in self._state.values())

    async def sample_once(self) -> None:
        """Read every consumer's partitions, the consumers side by side, each within the sampling interval.

        A consumer whose positions cannot be read now (aiokafka's ``position`` waits while a partition's offset is
        still being fetched, after a rebalance) costs this round at most the interval and holds up no other: one
        slow consumer must not leave the others' readings to age. Its partitions keep their last reading.
        """
        readings = await asyncio.gather(*(self._sample(sub) for sub in self._subscribers))
        assigned = {key for keys in readings for key in keys}
        self.forget_except(assigned)
        self.export_idle()

    async def _sample(self, sub: Any) -> set[tuple[str, str, int]]:
        """Sample one subscriber's consumer; returns the partitions it holds (read now or not)."""
        consumer: Any = getattr(sub, "consumer", None)
        if consumer is None:
            return set()
        group = getattr(consumer, "_group_id", None) or "?"
        assigned = list(consumer.assignment())
        held = {(group, tp.topic, tp.partition) for tp in assigned}
        if not assigned:
            return held
        try:
            ends = await asyncio.wait_for(consumer.end_offsets(assigned), self._interval_s)
        except Exception as exc:  # noqa: BLE001 - broker away or slow, or rebalancing: next round
            log.info("progress_not_read", group=group, error=type(exc).__name__)
            return held
        positions = await asyncio.gather(
            *(asyncio.wait_for(consumer.position(tp), self._interval_s) for tp in assigned), return_exceptions=True
        )
        unknown = 0
        for tp, position in zip(assigned, positions, strict=True):
            if isinstance(position, BaseException):  # still being fetched, or no longer assigned: next round
                unknown += 1
                continue
            self.observe(group, tp, position=int(position), high=int(ends.get(tp, position)))
        if unknown:
            log.info("progress_not_read", group=group, partitions=unknown, of=len(assigned))
        return held

    def export_idle(self) -> None:
        """``weerbaar_consumer_idle_seconds`` per group: how long a group with lag has not moved (alerting)."""
        for group, (lag, idle) in self._groups().items():
            metrics.CONSUMER_IDLE.labels(self._service, group).set(idle if lag > 0 else 0.0)

    async def sample_quietly(self) -> None:
        """One sample (``shared.runtime.periodic``); a broker that is away shows in the readiness check, not here."""
        try:
            await self.sample_once()
        except Exception as exc:  # noqa: BLE001 - broker away: the readiness check reports it
            log.debug("progress_sample_failed", error=type(exc).__name__)
