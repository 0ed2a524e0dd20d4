"""Figures from a projection: the one query behind the API, the dashboard, the stats topic and ``weerbaar replay``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Protocol

from services.reporting import domain
from services.reporting.domain import Disclosure
from services.reporting.facts import Fact
from services.reporting.population import Population
from shared.contracts.events import ReportCell


class Facts(Protocol):
    """Where figures come from: the service's ``FactBook`` (memory), or a ``ReportingStore`` (``weerbaar replay``)."""

    async def facts_between(self, low: datetime | None, high: datetime | None) -> list[Fact]: ...


def window(
    disclosure: Disclosure, start: date | None, end: date | None, now: datetime | None = None
) -> tuple[datetime | None, datetime | None]:
    """The facts' window: one whole closed period (``InvalidWindow`` otherwise), or month-widened (old method)."""
    calendar = disclosure.calendar(now or datetime.now(UTC))
    return calendar.window(start, end) if calendar else domain.window(start, end)


def tabulate(
    facts: Sequence[Fact],
    dims: Sequence[str],
    *,
    disclosure: Disclosure,
    population: Population | None,
    now: datetime | None = None,
) -> list[ReportCell]:
    """Disclosure-controlled cells of ``facts`` grouped by ``dims``: closed periods only, rounded (consistent)."""
    calendar = disclosure.calendar(now or datetime.now(UTC))
    if calendar is None:
        raw = domain.tabulate(facts, dims)
        return domain.sort_cells(domain.report(raw, threshold=disclosure.threshold, population=population), dims)
    closed = [f for f in facts if calendar.month_closed(f.occurred_at)]
    raw = [cell for cell in domain.tabulate(closed, dims) if calendar.cell_closed(cell.dims)]
    cells = domain.report(raw, threshold=disclosure.threshold, population=population, rounding=disclosure.rounding)
    return domain.sort_cells(cells, dims)


async def figures(
    facts: Facts,
    dims: Sequence[str],
    start: date | None,
    end: date | None,
    *,
    disclosure: Disclosure,
    population: Population,
    now: datetime | None = None,
) -> list[ReportCell]:
    """Disclosure-controlled cells of the facts in the window, grouped by ``dims``."""
    low, high = window(disclosure, start, end, now)
    found = await facts.facts_between(low, high)
    return tabulate(found, dims, disclosure=disclosure, population=population, now=now)
