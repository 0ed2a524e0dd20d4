"""One way to run periodic work: an interval, the acute gate, errors logged, cancellation honoured."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

from shared.cadence import Cadence
from shared.lanes import AcuteGate

log = structlog.get_logger("weerbaar.periodic")


def every(
    name: str, interval_s: float, work: Callable[[], Awaitable[object]], *, gate: AcuteGate | None
) -> Callable[[], Awaitable[None]]:
    """A background hook that runs ``work`` every ``interval_s`` until cancelled.

    Runs are routine work: with a ``gate`` they wait while acute work is on its way, and a slow run lengthens the
    pause after it (``shared.cadence``: sweeps scan whole collections on FerretDB and must not crowd out what they
    sweep for). A failed run is logged and tried again at the next one.
    """
    cadence = Cadence(interval_s, gate=gate)

    async def run_forever() -> None:
        while True:
            try:
                await cadence.timed(work)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - a failed run is retried at the next
                log.warning("periodic_work_failed", work=name, error=type(exc).__name__)
            await cadence.pause()

    run_forever.__name__ = name
    return run_forever
