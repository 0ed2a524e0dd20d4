"""The acute gate: closed while a case holds it, released by its police notification, never starving routine work."""

from __future__ import annotations

import asyncio

from shared.contracts.topics import CASE_TRIAGED, CASE_TRIAGED_URGENT, INCIDENT_REPORTED, INCIDENT_URGENT
from shared.messaging.lanes import AcuteGate, is_routine, routine, step_aside, taking_turns


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_gate_is_open_until_acute_work_is_seen() -> None:
    gate = AcuteGate(2.0, clock=Clock())
    assert gate.closed_for == 0
    gate.hold("case-1")
    assert gate.closed_for == 2.0


def test_the_police_notification_of_the_case_releases_its_hold() -> None:
    gate = AcuteGate(2.0, clock=Clock())
    gate.hold("case-1")
    gate.hold("case-2")
    gate.release("case-1")
    assert gate.closed_for > 0
    gate.release("case-2")
    assert gate.closed_for == 0


def test_a_hold_nobody_releases_ends_by_itself() -> None:
    clock = Clock()
    gate = AcuteGate(2.0, clock=clock)
    gate.hold("rated-low")
    clock.now += 2.0
    assert gate.closed_for == 0


def test_a_stream_of_acute_cases_leaves_routine_work_at_least_half_the_time() -> None:
    clock = Clock()
    gate = AcuteGate(2.0, clock=clock)
    closed = 0
    for step in range(1000):  # a new acute case every 0.1 s, none ever released
        gate.hold(f"case-{step}")
        closed += gate.closed_for > 0
        clock.now += 0.1
    assert 0.45 <= closed / 1000 <= 0.51  # half, give or take one 0.1 s step per closure


def test_a_zero_hold_switches_the_gate_off() -> None:
    gate = AcuteGate(0.0, clock=Clock())
    gate.hold("case-1")
    assert gate.closed_for == 0


def test_urgent_topics_are_not_routine() -> None:
    assert not is_routine(INCIDENT_URGENT)
    assert not is_routine(CASE_TRIAGED_URGENT)
    assert is_routine(INCIDENT_REPORTED)
    assert is_routine(CASE_TRIAGED)


async def test_routine_work_passes_as_soon_as_the_case_is_released() -> None:
    gate = AcuteGate(30.0)
    gate.hold("case-1")
    passed = asyncio.create_task(gate.passage())
    await asyncio.sleep(0)
    assert not passed.done()
    gate.release("case-1")
    await asyncio.wait_for(passed, 1.0)


async def test_work_waiting_at_the_gate_stops_at_once_when_cancelled() -> None:
    gate = AcuteGate(30.0)
    gate.hold("case-1")
    waiting = asyncio.create_task(gate.passage())
    await asyncio.sleep(0)
    waiting.cancel()
    done, _ = await asyncio.wait({waiting}, timeout=1.0)
    assert waiting in done
    assert waiting.cancelled()


def test_holding_closes_the_gate_for_the_block_only_and_only_when_acute() -> None:
    gate = AcuteGate(30.0, clock=Clock())
    with gate.holding(acute=False):
        assert gate.closed_for == 0
    with gate.holding():
        assert gate.closed_for > 0
    assert gate.closed_for == 0


async def test_routine_work_steps_aside_before_its_next_piece_while_acute_work_travels() -> None:
    gate = AcuteGate(30.0)
    gate.hold("acute-case")
    with routine(gate, "routine-case"):
        waiting = asyncio.create_task(step_aside())  # the task inherits the routine mark
    await asyncio.sleep(0.01)
    assert not waiting.done()
    gate.release("acute-case")
    await asyncio.wait_for(waiting, 1.0)


async def test_work_that_is_not_marked_routine_never_steps_aside() -> None:
    gate = AcuteGate(30.0)
    gate.hold("acute-case")
    await asyncio.wait_for(step_aside(), 0.1)  # an HTTP request, the urgent consumers, the acute case itself


async def test_the_routine_copy_of_an_acute_case_does_not_wait_for_itself() -> None:
    gate = AcuteGate(30.0)
    gate.hold("acute-case")
    with routine(gate, "acute-case"):
        await asyncio.wait_for(step_aside(), 0.1)


async def test_routine_work_waiting_for_another_case_goes_on_once_its_own_case_turns_acute() -> None:
    gate = AcuteGate(30.0)
    gate.hold("other-acute-case")
    with routine(gate, "late-acute-case"):
        waiting = asyncio.create_task(step_aside())
    await asyncio.sleep(0.01)
    assert not waiting.done()
    gate.hold("late-acute-case")  # it may hold this case's locks: the acute lane must not wait for it
    await asyncio.wait_for(waiting, 1.0)


async def test_a_routine_sweep_takes_its_next_item_only_once_the_acute_case_is_through() -> None:
    gate = AcuteGate(30.0)
    taken: list[str] = []

    async def sweep() -> None:
        async for item in taking_turns(["first", "second"]):
            taken.append(item)
            if item == "first":
                gate.hold("acute-case")  # an acute report arrives while the sweep is under way

    with routine(gate):
        running = asyncio.create_task(sweep())
    await asyncio.sleep(0.01)
    assert taken == ["first"]
    gate.release("acute-case")
    await asyncio.wait_for(running, 1.0)
    assert taken == ["first", "second"]
