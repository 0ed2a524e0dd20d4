"""Figures from a projection: the one query behind the API, the dashboard, and ``weerbaar replay``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from services.reporting import domain
from services.reporting.population import Population
from services.reporting.store import ReportingStore
from shared.contracts.events import ReportCell


async def figures(
    store: ReportingStore,
    dims: Sequence[str],
    start: date | None,
    end: date | None,
    *,
    threshold: int,
    population: Population,
) -> list[ReportCell]:
    """Disclosure-controlled cells of the facts in the (month-widened) window, grouped by ``dims``."""
    low, high = domain.window(start, end)
    raw = domain.tabulate(await store.facts_between(low, high), dims)
    return domain.sort_cells(domain.report(raw, threshold=threshold, population=population), dims)
