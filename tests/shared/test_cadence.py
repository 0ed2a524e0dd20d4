"""A periodic scan waits its interval, and longer when it ran long, so its share of time stays bounded."""

from __future__ import annotations

import asyncio

import pytest

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
