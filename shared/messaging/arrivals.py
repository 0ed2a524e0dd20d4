"""Wake a handler that waits for something about a case as soon as this process has handled something about it.

An event may arrive before what it needs (``NotYetVisible``): notify's acute consumer gets the triage decision
before its other acute consumer has stored the report. Sleeping a backoff wastes up to that backoff on the path
that must be fastest; instead, every consumer announces the case of each record it has handled, and a waiting
handler retries as soon as its case was announced (or when its backoff is up, whichever comes first).
"""

from __future__ import annotations

import asyncio
import itertools
from collections import OrderedDict


class Arrivals:
    """Per case key: the number of the last handled record (a bounded memory) and the handlers waiting for one."""

    def __init__(self, *, remember: int = 10_000) -> None:
        self._numbers = itertools.count(1)
        self._now = 0
        self._last: OrderedDict[str, int] = OrderedDict()
        self._remember = remember
        self._waiting: dict[str, asyncio.Event] = {}

    def mark(self) -> int:
        """The moment to wait from: take it before trying, so an arrival during the try is not missed."""
        return self._now

    def announce(self, key: str) -> None:
        """Something about ``key`` was handled: wake whoever waits for it."""
        self._now = next(self._numbers)
        self._last[key] = self._now
        self._last.move_to_end(key)
        while len(self._last) > self._remember:
            self._last.popitem(last=False)
        event = self._waiting.pop(key, None)
        if event is not None:
            event.set()

    def arrived_since(self, key: str, mark: int) -> bool:
        return self._last.get(key, 0) > mark

    async def wait(self, key: str, mark: int, at_most_s: float) -> bool:
        """Wait until something about ``key`` was handled after ``mark``, at most ``at_most_s``; whether it was."""
        if self.arrived_since(key, mark):
            return True
        event = self._waiting.setdefault(key, asyncio.Event())
        try:
            async with asyncio.timeout(at_most_s):
                await event.wait()
        except TimeoutError:
            if self._waiting.get(key) is event:
                del self._waiting[key]  # nobody is left waiting: a key that never arrives leaves nothing behind
            return False
        return True
