"""Pauses for periodic scans that keep their share of the store's time bounded as the data grows.

On FerretDB a query on anything but ``_id`` reads and decodes the whole collection, so a sweep that costs 5 ms on
an empty store costs seconds with tens of thousands of documents, and at a fixed interval it would crowd out the
work it sweeps for. A ``Cadence`` waits at least ``interval_s`` between runs, and longer when a run took long: the
run's time stays at most ``max_share`` of the wall clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from shared.messaging.lanes import AcuteGate, counting_waits, routine

T = TypeVar("T")


def pause_after(took_s: float, *, interval_s: float, max_share: float) -> float:
    """Seconds to wait after a run of ``took_s``: the interval, or long enough to keep runs at ``max_share``."""
    if not 0 < max_share <= 1:
        raise ValueError("max_share must be in (0, 1]")
    return max(interval_s, took_s * (1 - max_share) / max_share)


@dataclass(slots=True)
class Cadence:
    interval_s: float
    max_share: float = 0.05
    gate: AcuteGate | None = None
    """When given, a pause also lasts until the acute gate is open: scans are routine work."""
    last_took_s: float = field(default=0.0, init=False)

    async def timed(self, run: Callable[[], Awaitable[T]]) -> T:
        """Run once and remember how long it worked (failures count too: a slow failure is still load).

        With a gate, the run is routine work: it steps aside between its store commands while acute work is on its
        way. That waiting is no load, so it does not count: a sweep that waited a minute behind a stream of acute
        reports would otherwise pause for twenty (with a share of 5%), and what it sweeps for would wait that long.
        """
        started = time.monotonic()
        with counting_waits() as waits:
            try:
                with routine(self.gate) if self.gate is not None else contextlib.nullcontext():
                    return await run()
            finally:
                self.last_took_s = max(0.0, time.monotonic() - started - sum(waits))

    @property
    def next_pause_s(self) -> float:
        return pause_after(self.last_took_s, interval_s=self.interval_s, max_share=self.max_share)

    async def pause(self) -> None:
        await asyncio.sleep(self.next_pause_s)
        if self.gate is not None:
            await self.gate.passage()
