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


class ConsumerProgress:
    """Samples position and high watermark of every assigned partition; remembers when each last moved.

    A consumer group is stalled when it has lag and the position of none of its partitions has changed for
    ``stall_s`` seconds: it holds partitions but does not work through them (a hung handler, or aiokafka stuck
    after a broker restart).
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
        state = self._state.setdefault(key, _PartitionState(moved_at=self._clock()))
        if position != state.position:
            state.position = position
            state.moved_at = self._clock()
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
        """Per consumer group: its lag, and the seconds since any of its partitions moved."""
        now = self._clock()
        groups: dict[str, tuple[int, float]] = {}
        for (group, _, _), state in self._state.items():
            lag, moved_at = groups.get(group, (0, float("-inf")))
            groups[group] = (lag + state.lag, max(moved_at, state.moved_at))
        return {group: (lag, now - moved_at) for group, (lag, moved_at) in groups.items()}

    def total_lag(self) -> int:
        return sum(state.lag for state in self._state.values())

    async def sample_once(self) -> None:
        live: set[tuple[str, str, int]] = set()
        for sub in self._subscribers:
            consumer: Any = getattr(sub, "consumer", None)
            if consumer is None:
                continue
            group = getattr(consumer, "_group_id", None) or "?"
            assigned = list(consumer.assignment())
            if not assigned:
                continue
            ends = await asyncio.wait_for(consumer.end_offsets(assigned), self._interval_s)
            for tp in assigned:
                try:
                    position = await asyncio.wait_for(consumer.position(tp), 1.0)
                except Exception as exc:  # noqa: BLE001 - no valid position yet (rebalancing): next round
                    log.debug("position_unknown", topic=tp.topic, partition=tp.partition, error=type(exc).__name__)
                    continue
                self.observe(group, tp, position=int(position), high=int(ends.get(tp, position)))
                live.add((group, tp.topic, tp.partition))
        self.forget_except(live)
        self.export_idle()

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
