"""Keeps the compacted stats topic current: standard breakdowns, republished (debounced) after facts change."""

from __future__ import annotations

import asyncio
from typing import Protocol

import structlog

from services.reporting import domain
from services.reporting.population import Population
from services.reporting.queries import Facts
from shared.cadence import Cadence
from shared.contracts.events import Envelope, ReportCell, ReportStats
from shared.lanes import AcuteGate

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
)


class Publishes(Protocol):
    """``shared.kafka.EventPublisher``, or a recording fake in unit tests."""

    async def publish(self, event: Envelope, *, topic: str | None = None, key: str | None = None) -> None: ...


class StatsPublisher:
    def __init__(
        self,
        facts: Facts,
        publisher: Publishes,
        *,
        threshold: int,
        population: Population,
        debounce_s: float,
        gate: AcuteGate | None = None,
    ) -> None:
        self._facts = facts
        self._publisher = publisher
        self._threshold = threshold
        self._population = population
        self._debounce_s = debounce_s
        self._gate = gate
        self._dirty = asyncio.Event()
        self._published: dict[str, ReportCell] = {}

    def mark_dirty(self) -> None:
        self._dirty.set()

    async def run_forever(self) -> None:
        """Publish after each burst of fact changes; on failure try again a little later."""
        self._dirty.set()
        cadence = Cadence(self._debounce_s, gate=self._gate)  # tabulating every fact is routine work
        while True:
            await self._dirty.wait()
            await cadence.pause()  # the debounce, longer when the last tabulation was slow (it goes over every fact)
            self._dirty.clear()
            try:
                changed = await cadence.timed(self.publish_changes)
            except Exception as exc:  # noqa: BLE001 - store or broker trouble: keep the loop alive, retry
                log.warning("stats_publish_failed", error=type(exc).__name__)
                self._dirty.set()
                await asyncio.sleep(min(5.0, self._debounce_s * 5))
            else:
                if changed:
                    log.info("stats_published", cells=changed)

    async def publish_changes(self) -> int:
        """Publish every standard cell whose value changed since the last publication; returns how many."""
        facts = await self._facts.facts_between(None, None)
        current: dict[str, tuple[tuple[str, ...], ReportCell]] = {}
        for breakdown in STANDARD_BREAKDOWNS:
            raw = domain.tabulate(facts, breakdown)
            for cell in domain.report(raw, threshold=self._threshold, population=self._population):
                current[domain.cell_key(cell.dims)] = (breakdown, cell)
        for key in self._published.keys() - current.keys():  # a cell emptied by a re-triage
            emptied = ReportCell(dims=self._published[key].dims, incidents=None, affected_office_holders=None)
            current[key] = (tuple(sorted(emptied.dims)), emptied.model_copy(update={"suppressed": True}))
        count = 0
        for key, (breakdown, cell) in current.items():
            if self._published.get(key) == cell:
                continue
            stats = ReportStats(cell_key=key, cell=cell, breakdown=breakdown, threshold=self._threshold)
            await self._publisher.publish(stats, key=key)
            self._published[key] = cell
            count += 1
        return count
