"""Acute work first: routine work in every service steps aside while an acute case is on its way.

The acute lane has topics and consumers of its own, so a routine backlog never queues in front of it in Kafka. But
all services share one store, and on this stack the store is the bottleneck: routine writes from four services
would still delay every store call of the acute path. So every service watches the urgent topics: a record there
holds its ``AcuteGate`` for that case, and its routine consumers and sweeps wait at the gate before they take their
next piece of work (work in progress finishes); urgent consumers never wait. The police notification of the case
releases the hold; without one (triage rated the report lower) the hold ends after ``hold_s``.

The gate never starves routine work: once it has been closed for ``hold_s`` in a row it stays open for ``hold_s``,
so routine work keeps at least half of the time even during a stream of acute reports.

Where routine work takes its turn is visible where it takes work on, never hidden in the store: a routine consumer
waits at the gate before each batch and before each case of it (``shared.messaging.consuming``), a sweep before each
run (``shared.runtime.periodic``) and before each item it takes on (:func:`taking_turns` in the sweep's loop). Work in
progress finishes: a routine case is two or three store commands, so acute work waits for at most those already sent.
A task marked with :func:`routine` (routine consumers, periodic sweeps) waits at the gate; a request, an urgent
consumer or routine work on the held case itself (the main-topic copy of an acute case may hold that case's locks)
never does.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import itertools
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import TypeVar

from shared.contracts.topics import ACUTE_SIGNAL, CASE_TRIAGED_URGENT, INCIDENT_URGENT, Recipient, notify_topic
from shared.runtime import metrics

URGENT_TOPICS: frozenset[str] = frozenset({INCIDENT_URGENT, CASE_TRIAGED_URGENT})
HOLD_TOPICS: frozenset[str] = URGENT_TOPICS | {ACUTE_SIGNAL}
"""A record on one of these holds the gate for its case: intake's heads-up, then the urgent records themselves."""
RELEASE_TOPIC = notify_topic(Recipient.POLICE)
"""The end of the acute path: once the police notification of a case is out, its hold is released."""

_local = itertools.count(1)


def is_routine(topic: str) -> bool:
    return topic not in URGENT_TOPICS


class AcuteGate:
    """Closed while some case holds it (at most ``hold_s`` per case, at most ``hold_s`` in a row)."""

    def __init__(self, hold_s: float, *, service: str = "", clock: Callable[[], float] = time.monotonic) -> None:
        self._hold_s = hold_s
        self._service = service
        self._clock = clock
        self._holds: dict[str, float] = {}
        self._closed_since: float | None = None
        self._open_until = float("-inf")
        self._changed = asyncio.Event()  # a hold came or went: waiters look again
        if service:  # at 0 from the start (a board shows "none yet" instead of "no data")
            metrics.ACUTE_YIELDS.labels(service)
            metrics.ACUTE_YIELD_SECONDS.labels(service)

    def hold(self, key: str | None = None) -> str:
        """Acute work for ``key`` (a case id) is on its way; returns the key (a fresh one when none was given)."""
        key = key if key is not None else f"local-{next(_local)}"
        if self._hold_s > 0:
            self._holds[key] = self._clock() + self._hold_s
            self._changed.set()  # routine work on this very case stops waiting (``passage(unless=key)``)
        return key

    @contextlib.contextmanager
    def holding(self, acute: bool = True) -> Iterator[None]:
        """Hold the gate (when ``acute``) for the duration of the block."""
        key = self.hold() if acute else None
        try:
            yield
        finally:
            if key is not None:
                self.release(key)

    def holds(self, key: str) -> bool:
        """Whether acute work for ``key`` is on its way (its hold not yet released nor expired)."""
        until = self._holds.get(key)
        return until is not None and until > self._clock()

    def release(self, key: str) -> None:
        """The acute work for ``key`` is done."""
        if self._holds.pop(key, None) is not None:
            self._changed.set()

    @property
    def closed_for(self) -> float:
        """Seconds until the gate opens (as things stand now); 0 when open."""
        if not self._holds:  # the common case, on every routine record: nothing to look at
            self._closed_since = None
            return 0.0
        now = self._clock()
        self._holds = {key: until for key, until in self._holds.items() if until > now}
        if not self._holds:
            self._closed_since = None
            return 0.0
        if now < self._open_until:
            return 0.0  # a breather for routine work after a long closure
        if self._closed_since is None:
            self._closed_since = now
        end = min(max(self._holds.values()), self._closed_since + self._hold_s)
        if end <= now:
            self._closed_since = None
            self._open_until = now + self._hold_s
            return 0.0
        return end - now

    def _pause(self, unless: str | None) -> float:
        """Seconds to wait now: none once the case ``unless`` is itself held (its routine work may hold its locks)."""
        if unless is not None and self.holds(unless):
            return 0.0
        return self.closed_for

    async def passage(self, *, unless: str | None = None) -> None:
        """Wait while the gate is closed; not at all, or no longer, once the case ``unless`` is itself held."""
        if self._pause(unless) <= 0:
            return
        metrics.ACUTE_YIELDS.labels(self._service).inc()
        started = time.monotonic()
        try:
            while (pause := self._pause(unless)) > 0:
                self._changed.clear()
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that arrives as it
                # times out, and a sweep that ignores its cancellation holds up the service's shutdown.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(pause):
                        await self._changed.wait()  # a release may open it early
        finally:
            metrics.ACUTE_YIELD_SECONDS.labels(self._service).inc(time.monotonic() - started)


_ROUTINE: contextvars.ContextVar[tuple[AcuteGate, str | None] | None] = contextvars.ContextVar(
    "weerbaar_routine_work", default=None
)


@contextlib.contextmanager
def routine(gate: AcuteGate, case: str | None = None) -> Iterator[None]:
    """Mark the work of the block (this task and the tasks it starts) as routine work on ``case``."""
    token = _ROUTINE.set((gate, case))
    try:
        yield
    finally:
        _ROUTINE.reset(token)


def in_routine_work() -> bool:
    """Whether the current task does routine work (a routine consumer, a sweep), not acute work or a request."""
    return _ROUTINE.get() is not None


_WAITED: contextvars.ContextVar[list[float] | None] = contextvars.ContextVar("weerbaar_waited_aside", default=None)


@contextlib.contextmanager
def counting_waits() -> Iterator[list[float]]:
    """Collect the seconds the block's routine work waited aside for acute work (one entry per wait)."""
    waits: list[float] = []
    token = _WAITED.set(waits)
    try:
        yield waits
    finally:
        _WAITED.reset(token)


async def step_aside() -> None:
    """Before routine work takes on its next piece: it waits while acute work is on its way; anything else goes on."""
    current = _ROUTINE.get()
    if current is not None:
        gate, case = current
        started = time.monotonic()
        await gate.passage(unless=case)
        waits = _WAITED.get()
        if waits is not None:
            waits.append(time.monotonic() - started)


T = TypeVar("T")


async def taking_turns(items: Iterable[T]) -> AsyncIterator[T]:
    """A sweep's items one at a time, each taken on once acute work lets routine work go on (:func:`step_aside`)."""
    for item in items:
        await step_aside()
        yield item
