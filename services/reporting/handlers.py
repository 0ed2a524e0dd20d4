"""Reporting's subscribers and routes: fold events into the projection, answer summaries, serve the dashboard."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Header, Query, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from services.reporting import dashboard, domain, queries
from services.reporting.domain import Disclosure
from services.reporting.errors import UnknownDimension
from services.reporting.export import as_csv
from services.reporting.monitor import Monitor
from services.reporting.periods import InvalidWindow
from services.reporting.population import Population
from services.reporting.projection import SOURCES, Projection
from services.reporting.publishing import StatsPublisher
from services.reporting.queries import Facts
from shared.contracts.events import ReportCell, ReportStats
from shared.contracts.topics import REPORT_STATS
from shared.runtime.service import Runtime
from shared.web.guard import require
from shared.web.http import Problem
from shared.web.policy import Action

log = structlog.get_logger("weerbaar.reporting")

EARLIEST, LATEST = date(1900, 1, 1), date(2999, 12, 31)  # a report window outside these is a mistake (422)


class Window(BaseModel):
    from_: str | None = Field(alias="from")
    to_exclusive: str | None


class Summary(BaseModel):
    """The aggregate table (JSON); with `Accept: text/csv` the same cells as CSV."""

    model_config = ConfigDict(populate_by_name=True)
    from_: str | None = Field(alias="from", description="the asked start (a month, quarter or year's first day)")
    to: str | None
    window: Window = Field(description="the published periods the figures cover")
    group_by: list[str]
    threshold: int = Field(description="cells under this many office holders are suppressed")
    method: str
    rounding_base: int
    cells: list[ReportCell]


_SUMMARY: dict[int | str, dict[str, Any]] = {
    200: {
        "model": Summary,
        "content": {"text/csv": {"schema": {"type": "string"}}},
        "description": "The table as JSON, or as CSV when the request accepts text/csv",
    }
}


class ReportingHandlers:
    def __init__(
        self,
        runtime: Runtime,
        projection: Projection,
        facts: Facts,
        disclosure: Disclosure,
        population: Population,
        stats: StatsPublisher,
        monitor: Monitor,
    ) -> None:
        self._runtime = runtime
        self._projection = projection
        self._facts = facts
        self._disclosure = disclosure
        self._population = population
        self._stats = stats
        self._monitor = monitor

    def register(self) -> None:
        self._runtime.produces(REPORT_STATS, ReportStats, "One report cell (compacted: latest value per key)")
        # One consumer for the facts: a case's decision, statuses and follow-ups of a batch in one save.
        (first, first_model), *rest = SOURCES.items()
        self._runtime.consume(
            first,
            first_model,
            self.on_event,
            per_case=self.on_events,
            also={topic: (model, self.on_event) for topic, model in rest},
            name="facts",
        )

    async def on_event(self, event: BaseModel) -> None:
        await self.on_events(str(getattr(event, "case_id", "")), [event])

    async def on_events(self, case_id: str, events: list[BaseModel]) -> None:
        if await self._projection.apply(case_id, events):
            self._stats.mark_dirty()

    async def summary(self, start: date | None, end: date | None, group_by: str | None) -> list[ReportCell]:
        try:
            dims = domain.parse_group_by(group_by)
        except UnknownDimension as exc:
            raise Problem(
                422,
                "Invalid request",
                str(exc),
                code=exc.code,
                errors=[{"field": "group_by", "message": str(exc)}],
            ) from exc
        return await self.table(dims, start, end)

    async def table(self, dims: tuple[str, ...], start: date | None, end: date | None) -> list[ReportCell]:
        try:
            return await queries.figures(
                self._facts, dims, start, end, disclosure=self._disclosure, population=self._population
            )
        except InvalidWindow as exc:
            raise Problem(
                422, "Invalid request", str(exc), code=exc.code, errors=[{"field": exc.field, "message": str(exc)}]
            ) from exc

    def router(self) -> APIRouter:
        # Aggregates only (bzk, jenv, admin); every route is guarded the same way, the page also by ?access_token=.
        router = APIRouter(tags=["reports"], dependencies=[Depends(require(Action.READ_REPORTS))])
        pages = APIRouter(tags=["reports"], dependencies=[Depends(require(Action.READ_REPORTS, page=True))])

        @router.get("/v1/reports/summary", responses=_SUMMARY)
        async def summary(
            start: Annotated[date | None, Query(alias="from", ge=EARLIEST, le=LATEST)] = None,
            end: Annotated[date | None, Query(alias="to", ge=EARLIEST, le=LATEST)] = None,
            group_by: str | None = None,
            accept: Annotated[str | None, Header()] = None,
        ) -> Response:
            cells = await self.summary(start, end, group_by)
            dims = domain.parse_group_by(group_by)
            if accept and "text/csv" in accept:
                return Response(as_csv(cells, dims), media_type="text/csv")
            low, high = queries.window(self._disclosure, start, end)
            body = {
                "from": start.isoformat() if start else None,
                "to": end.isoformat() if end else None,
                "window": {
                    "from": low.isoformat() if low else None,
                    "to_exclusive": high.isoformat() if high else None,
                },
                "group_by": list(dims),
                "threshold": self._disclosure.threshold,
                "method": self._disclosure.method.value,
                "rounding_base": self._disclosure.rounding.base if self._disclosure.method == "consistent" else 1,
                "cells": [c.model_dump() for c in cells],
            }
            return Response(json.dumps(body, ensure_ascii=False), media_type="application/json")

        @pages.get("/dashboard", response_class=HTMLResponse)
        async def dashboard_page(
            start: Annotated[date | None, Query(alias="from", ge=EARLIEST, le=LATEST)] = None,
            end: Annotated[date | None, Query(alias="to", ge=EARLIEST, le=LATEST)] = None,
        ) -> HTMLResponse:
            tables = {chart: await self.table(dims, start, end) for chart, dims, _, _ in dashboard.CHARTS}
            trends = {name: await self.table(dims, None, None) for name, dims in dashboard.TRENDS.items()}
            totals = await self.table((), start, end)
            window = f"{start} t/m {end}" if start or end else "alle gepubliceerde perioden"
            page = dashboard.render(
                tables,
                totals[0] if totals else None,
                threshold=self._disclosure.threshold,
                window_text=window,
                trends=trends,
                monitor=self._monitor,
                rounding_base=self._disclosure.rounding.base if self._disclosure.method == "consistent" else 1,
            )
            return HTMLResponse(page, headers={"Cache-Control": "no-store"})

        @router.get("/v1/reports/monitor")
        async def monitor() -> Monitor:
            """The monitor's published national figures (reference data with source; not weerbaar's counts)."""
            return self._monitor

        both = APIRouter()
        both.include_router(router)
        both.include_router(pages)
        return both
