"""Figures from a projection: the one query behind the API, the dashboard, and ``weerbaar replay``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Protocol

from services.reporting import domain
from services.reporting.facts import Fact
from services.reporting.population import Population
from shared.contracts.events import ReportCell


class Facts(Protocol):
    """Where figures come from: the service's ``FactBook`` (memory), or a ``ReportingStore`` (``weerbaar replay``)."""

    async def facts_between(self, low: datetime | None, high: datetime | None) -> list[Fact]: ...


async def figures(
    facts: Facts,
    dims: Sequence[str],
    start: date | None,
    end: date | None,
    *,
    threshold: int,
    population: Population,
) -> list[ReportCell]:
    """Disclosure-controlled cells of the facts in the (month-widened) window, grouped by ``dims``."""
    low, high = domain.window(start, end)
    raw = domain.tabulate(await facts.facts_between(low, high), dims)
    return domain.sort_cells(domain.report(raw, threshold=threshold, population=population), dims)
