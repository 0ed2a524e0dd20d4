"""Detached work runs on without its caller, is kept until it ends, and a failure is logged by its kind."""

from __future__ import annotations

import asyncio

from structlog.testing import capture_logs

from shared.runtime.detached import Detached


async def test_detached_work_is_kept_until_it_ends_and_runs_without_the_caller() -> None:
    detached = Detached("work_failed")
    release = asyncio.Event()
    done: list[str] = []

    async def work() -> None:
        await release.wait()
        done.append("done")

    task = detached.start(work())
    await asyncio.sleep(0)
    assert len(detached) == 1
    assert not task.done()
    release.set()
    await task
    assert done == ["done"]
    assert len(detached) == 0


async def test_a_failure_is_logged_with_its_event_and_error_type_but_not_its_message() -> None:
    detached = Detached("acute_recipients_left_to_main_lane")

    async def fails() -> None:
        raise ConnectionError("mongodb://user:secret@host")

    with capture_logs() as logs:
        task = detached.start(fails())
        await asyncio.gather(task, return_exceptions=True)
        await asyncio.sleep(0)  # done callbacks run on the next turn of the loop
    assert logs == [{"event": "acute_recipients_left_to_main_lane", "error": "ConnectionError", "log_level": "warning"}]
    assert len(detached) == 0
