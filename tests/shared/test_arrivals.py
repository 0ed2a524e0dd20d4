"""A handler waiting for what its event needs retries as soon as something about its case was handled."""

from __future__ import annotations

import asyncio

from shared.messaging.arrivals import Arrivals


async def test_a_waiting_handler_wakes_when_its_case_is_announced() -> None:
    arrivals = Arrivals()
    mark = arrivals.mark()
    waiting = asyncio.create_task(arrivals.wait("case-1", mark, at_most_s=30))
    await asyncio.sleep(0)
    assert not waiting.done()
    arrivals.announce("case-1")
    assert await asyncio.wait_for(waiting, 1.0) is True


async def test_another_case_does_not_wake_it() -> None:
    arrivals = Arrivals()
    mark = arrivals.mark()
    waiting = asyncio.create_task(arrivals.wait("case-1", mark, at_most_s=0.05))
    await asyncio.sleep(0)
    arrivals.announce("case-2")
    assert await waiting is False


async def test_an_arrival_between_the_try_and_the_wait_is_not_missed() -> None:
    arrivals = Arrivals()
    mark = arrivals.mark()  # taken before the handler tried
    arrivals.announce("case-1")  # the other consumer finished while the handler was failing
    assert await asyncio.wait_for(arrivals.wait("case-1", mark, at_most_s=30), 0.1) is True


async def test_an_arrival_before_the_try_does_not_count() -> None:
    arrivals = Arrivals()
    arrivals.announce("case-1")
    mark = arrivals.mark()
    assert await arrivals.wait("case-1", mark, at_most_s=0.01) is False


def test_memory_stays_bounded() -> None:
    arrivals = Arrivals(remember=3)
    for i in range(10):
        arrivals.announce(f"case-{i}")
    assert not arrivals.arrived_since("case-0", 0)
    assert arrivals.arrived_since("case-9", 0)
