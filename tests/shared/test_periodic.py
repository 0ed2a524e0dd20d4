"""Background jobs: they keep running after a failure, stop when cancelled, wait for their wake and the acute gate."""

from __future__ import annotations

import asyncio

from structlog.testing import capture_logs

from shared.messaging.lanes import AcuteGate
from shared.runtime.periodic import Every


async def test_a_failed_run_is_logged_and_the_job_runs_again() -> None:
    runs = 0
    third = asyncio.Event()

    async def flaky() -> None:
        nonlocal runs
        runs += 1
        if runs == 3:
            third.set()
        if runs == 1:
            raise ConnectionError("store away")

    job = Every("flaky", 0.001, flaky)
    with capture_logs() as logs:
        task = asyncio.create_task(job.run_forever())
        await asyncio.wait_for(third.wait(), 5)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert task.cancelled()
    assert {"event": "periodic_run_failed", "job": "flaky", "error": "ConnectionError", "log_level": "warning"} in logs


async def test_a_woken_job_runs_only_after_its_wake_and_again_after_a_failure() -> None:
    wake = asyncio.Event()
    calls: list[int] = []
    done = asyncio.Event()

    async def publish() -> None:
        calls.append(len(calls))
        if len(calls) == 1:
            raise ConnectionError("broker away")  # still due: it runs again without a new wake
        done.set()

    task = asyncio.create_task(Every("stats", 0.001, publish, wake=wake).run_forever())
    await asyncio.sleep(0.05)  # several intervals pass without a wake
    assert calls == []
    wake.set()
    await asyncio.wait_for(done.wait(), 5)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert calls == [0, 1]


async def test_a_routine_job_waits_while_acute_work_is_on_its_way() -> None:
    gate = AcuteGate(30.0)
    gate.hold("acute-case")
    ran = asyncio.Event()

    async def sweep() -> None:
        ran.set()

    task = asyncio.create_task(Every("sweep", 0.001, sweep, gate=gate).run_forever())
    await asyncio.sleep(0.05)
    assert not ran.is_set(), "the acute case goes first"
    gate.release("acute-case")
    await asyncio.wait_for(ran.wait(), 5)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
