"""Keeps the compacted stats topic current: standard breakdowns, republished (debounced) after facts change."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

import structlog

from services.reporting import domain, queries
from services.reporting.domain import Disclosure
from services.reporting.periods import LOCAL
from services.reporting.population import Population
from services.reporting.queries import Facts
from shared.contracts.events import Envelope, ReportCell, ReportStats

log = structlog.get_logger("weerbaar.reporting")

# The tables dashboards subscribe to; every cell is one key on weerbaar.report.stats.v1.
STANDARD_BREAKDOWNS: tuple[tuple[str, ...], ...] = (
    ("year",),
    ("quarter",),
    ("period",),
    ("year", "channel_group"),
    ("period", "channel_group"),
    ("year", "gender"),
    ("year", "role"),
    ("year", "role", "gender"),
    ("year", "risk_level"),
    ("year", "type"),
    ("year", "body_kind"),
    ("year", "impact_on_functioning"),
    ("year", "aangifte_wanted"),
    ("year", "aangifte_filed"),
    ("year", "directed_at"),
    ("year", "gender", "directed_at"),
    ("year", "platform"),
    ("council_term",),
    ("council_term", "role"),
)


PUBLISH_AT_ONCE = 64


class Publishes(Protocol):
    """``shared.kafka.EventPublisher``, or a recording fake in unit tests."""

    async def publish(self, event: Envelope, *, topic: str | None = None, key: str | None = None) -> None: ...


class StatsPublisher:
    """Publishes the standard cells that changed; run by ``runtime.every`` whenever ``due`` is set (facts changed),
    at most once per debounce interval (longer when a tabulation was slow), routine work like any other."""

    def __init__(
        self,
        facts: Facts,
        publisher: Publishes,
        *,
        disclosure: Disclosure,
        population: Population,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._facts = facts
        self._clock = clock
        self._day = clock().astimezone(LOCAL).date()
        self._publisher = publisher
        self._disclosure = disclosure
        self._threshold = disclosure.threshold
        self._population = population
        self.due = asyncio.Event()
        self.due.set()  # at start: every cell, as the facts read from the store give it
        self._published: dict[str, ReportCell] = {}

    def mark_dirty(self) -> None:
        self.due.set()

    async def new_day(self) -> None:
        """Periods close with time, not with facts: on a new day, tabulate again (a period may be released now)."""
        today = self._clock().astimezone(LOCAL).date()
        if today != self._day:
            self._day = today
            self.due.set()

    async def publish_changes(self) -> int:
        """Publish every standard cell whose value changed since the last publication; returns how many.

        Only closed periods are tabulated (consistent method): a report about an open month changes nothing here
        until the month is published with all the others, and a late one moves rounded values, not single units.
        """
        facts = await self._facts.facts_between(None, None)
        current: dict[str, tuple[tuple[str, ...], ReportCell]] = {}
        for breakdown in STANDARD_BREAKDOWNS:
            tabulated = queries.tabulate(
                facts, breakdown, disclosure=self._disclosure, population=self._population, now=self._clock()
            )
            for cell in tabulated:
                current[domain.cell_key(cell.dims)] = (breakdown, cell)
        for key in self._published.keys() - current.keys():  # a cell emptied by a re-triage
            emptied = ReportCell(dims=self._published[key].dims, incidents=None, affected_office_holders=None)
            current[key] = (tuple(sorted(emptied.dims)), emptied.model_copy(update={"suppressed": True}))
        changed = [
            (key, breakdown, cell) for key, (breakdown, cell) in current.items() if self._published.get(key) != cell
        ]

        async def send(key: str, breakdown: tuple[str, ...], cell: ReportCell) -> None:
            stats = ReportStats(cell_key=key, cell=cell, breakdown=breakdown, threshold=self._threshold)
            await self._publisher.publish(stats, key=key)
            self._published[key] = cell

        # One key appears once per run, so the cells may be in flight together (the acks are what takes time).
        for start in range(0, len(changed), PUBLISH_AT_ONCE):
            await asyncio.gather(*(send(*item) for item in changed[start : start + PUBLISH_AT_ONCE]))
        count = len(changed)
        if count:
            log.info("stats_published", cells=count)
        return count
