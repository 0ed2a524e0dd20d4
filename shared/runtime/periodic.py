"""One way to run background work: a named loop with an interval, failures logged, cancellation honoured.

Every periodic job of every service (outbox relay, lag sampling, timer sweeps, webhook delivery, stats publication,
retention) is an :class:`Every`. Its pause is a :class:`shared.cadence.Cadence`: at least the interval, longer when a
run was slow (scans on FerretDB read whole collections, so a job keeps a bounded share of the store's time). Routine
jobs (``gate`` given) run only while no acute case is on its way: the acute lane decides here, before a run, and
never inside the store adapter. ``wake`` lets a job run before its interval is up (e.g. new facts to publish); the
pause still keeps its bounded share.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from shared.messaging.lanes import AcuteGate
from shared.runtime.cadence import Cadence

log = structlog.get_logger("weerbaar.periodic")


@dataclass
class Every:
    """Run ``work`` every ``interval_s`` until cancelled."""

    name: str
    interval_s: float
    work: Callable[[], Awaitable[Any]]
    gate: AcuteGate | None = None
    """Routine work: wait while acute work is on its way, before each run (the acute lane first)."""
    max_share: float = 0.05
    wake: asyncio.Event | None = None
    """When given, a run starts only once it is set (and clears it): work that is due only after a change."""
    _cadence: Cadence = field(init=False)

    def __post_init__(self) -> None:
        self._cadence = Cadence(self.interval_s, max_share=self.max_share, gate=self.gate)

    async def run_forever(self) -> None:
        while True:
            if self.wake is not None:
                await self.wake.wait()
                self.wake.clear()
            try:
                if self.gate is not None:
                    await self.gate.passage()
                await self._cadence.timed(self.work)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - a failed run is tried again after the pause
                log.warning("periodic_run_failed", job=self.name, error=type(exc).__name__)
                if self.wake is not None:
                    self.wake.set()  # what was due is still due
            await self._cadence.pause()

    def __call__(self) -> Awaitable[None]:
        """A background hook (``Runtime.background``): the loop itself."""
        return self.run_forever()
