"""Work that goes on without the caller waiting for it (asyncio keeps only weak references to running tasks)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import structlog


class Detached:
    """Tasks started and left to run: each kept until it ends; a failure is logged as ``event`` with its error type."""

    def __init__(self, event: str) -> None:
        self._event = event
        self._tasks: set[asyncio.Task[None]] = set()
        self._log = structlog.get_logger("weerbaar.detached")

    def start(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._ended)
        return task

    def __len__(self) -> int:
        return len(self._tasks)

    def _ended(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            self._log.warning(self._event, error=type(error).__name__)
