"""A periodic scan waits its interval, and longer when it ran long, so its share of time stays bounded."""

from __future__ import annotations

import asyncio
import time

import pytest

from shared.messaging.lanes import AcuteGate, step_aside
from shared.runtime.cadence import Cadence, pause_after


def test_a_quick_run_waits_the_interval() -> None:
    assert pause_after(0.01, interval_s=1.0, max_share=0.05) == 1.0


def test_a_slow_run_waits_long_enough_to_keep_its_share() -> None:
    took = 2.0
    pause = pause_after(took, interval_s=1.0, max_share=0.05)
    assert took / (took + pause) == pytest.approx(0.05)


def test_a_share_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="max_share"):
        pause_after(1.0, interval_s=1.0, max_share=0)


async def test_cadence_remembers_how_long_the_last_run_took_even_when_it_failed() -> None:
    cadence = Cadence(interval_s=0.0, max_share=0.5)

    async def slow_failure() -> None:
        await asyncio.sleep(0.02)
        raise RuntimeError("store away")

    with pytest.raises(RuntimeError):
        await cadence.timed(slow_failure)
    assert cadence.last_took_s >= 0.02
    assert cadence.next_pause_s == pytest.approx(cadence.last_took_s)


async def test_waiting_aside_for_acute_work_does_not_count_as_a_run_s_load() -> None:
    """A sweep that waited behind acute reports did no work meanwhile: its next pause stays the interval, so what it
    sweeps for (e.g. intake's outbox confirmations) is not held up for twenty times as long."""
    gate = AcuteGate(hold_s=5.0)
    cadence = Cadence(interval_s=0.5, max_share=0.05, gate=gate)
    waited = 0.3

    async def sweep() -> None:
        case = gate.hold("acute-case")
        asyncio.get_running_loop().call_later(waited, gate.release, case)
        await step_aside()  # waits until the acute case is through
        await asyncio.sleep(0.01)  # the sweep's own work

    started = time.monotonic()
    await cadence.timed(sweep)
    assert time.monotonic() - started >= waited, "the sweep did not wait aside: this test would prove nothing"
    assert cadence.last_took_s < 0.1
    assert cadence.next_pause_s == 0.5
