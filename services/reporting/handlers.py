"""Reporting's subscribers and routes: fold events into the projection, answer summaries, serve the dashboard."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Header, Query, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from services.reporting import dashboard, domain, queries
from services.reporting.errors import UnknownDimension
from services.reporting.population import Population
from services.reporting.projection import SOURCES, Projection
from services.reporting.publishing import StatsPublisher
from services.reporting.queries import Facts
from services.reporting.settings import Settings
from shared.contracts.events import ReportCell, ReportStats
from shared.contracts.topics import REPORT_STATS
from shared.guard import require
from shared.http import Problem
from shared.policy import Action
from shared.runtime import Runtime

log = structlog.get_logger("weerbaar.reporting")

FIGURE_FIELDS = (
    "share_affected",
    "minutes_to_notification_p50",
    "minutes_to_notification_p90",
    "minutes_to_acknowledgement_p50",
    "minutes_to_acknowledgement_p90",
)


EARLIEST, LATEST = date(1900, 1, 1), date(2999, 12, 31)  # a report window outside these is a mistake (422)


class ReportingHandlers:
    def __init__(
        self,
        runtime: Runtime,
        projection: Projection,
        facts: Facts,
        settings: Settings,
        population: Population,
        stats: StatsPublisher,
    ) -> None:
        self._runtime = runtime
        self._projection = projection
        self._facts = facts
        self._settings = settings
        self._population = population
        self._stats = stats

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
        return await queries.figures(
            self._facts,
            dims,
            start,
            end,
            threshold=self._settings.disclosure_threshold,
            population=self._population,
        )

    def router(self) -> APIRouter:
        # Aggregates only (bzk, jenv, admin); every route is guarded the same way, the page also by ?access_token=.
        responses: dict[int | str, dict[str, Any]] = {
            401: {"description": "no or invalid bearer token"},
            403: {"description": "role not allowed"},
        }
        router = APIRouter(tags=["reports"], dependencies=[Depends(require(Action.READ_REPORTS))], responses=responses)
        pages = APIRouter(
            tags=["reports"], dependencies=[Depends(require(Action.READ_REPORTS, page=True))], responses=responses
        )

        @router.get("/v1/reports/summary")
        async def summary(
            start: Annotated[date | None, Query(alias="from", ge=EARLIEST, le=LATEST)] = None,
            end: Annotated[date | None, Query(alias="to", ge=EARLIEST, le=LATEST)] = None,
            group_by: str | None = None,
            accept: Annotated[str | None, Header()] = None,
        ) -> Response:
            cells = await self.summary(start, end, group_by)
            dims = domain.parse_group_by(group_by)
            if accept and "text/csv" in accept:
                return Response(_as_csv(cells, dims), media_type="text/csv")
            low, high = domain.window(start, end)
            body = {
                "from": start.isoformat() if start else None,
                "to": end.isoformat() if end else None,
                "window": {
                    "from": low.isoformat() if low else None,
                    "to_exclusive": high.isoformat() if high else None,
                },
                "group_by": list(dims),
                "threshold": self._settings.disclosure_threshold,
                "cells": [c.model_dump() for c in cells],
            }
            return Response(json.dumps(body, ensure_ascii=False), media_type="application/json")

        @pages.get("/dashboard", response_class=HTMLResponse)
        async def dashboard_page(
            start: Annotated[date | None, Query(alias="from", ge=EARLIEST, le=LATEST)] = None,
            end: Annotated[date | None, Query(alias="to", ge=EARLIEST, le=LATEST)] = None,
        ) -> HTMLResponse:
            tables = {chart: await self.table(dims, start, end) for chart, dims, _, _ in dashboard.CHARTS}
            totals = await self.table((), start, end)
            window = f"{start or 'begin'} t/m {end or 'heden'}" if start or end else "alle meldingen"
            page = dashboard.render(
                tables,
                totals[0] if totals else None,
                threshold=self._settings.disclosure_threshold,
                window_text=window,
            )
            return HTMLResponse(page, headers={"Cache-Control": "no-store"})

        both = APIRouter()
        both.include_router(router)
        both.include_router(pages)
        return both


def _as_csv(cells: list[ReportCell], dims: tuple[str, ...]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*dims, "incidents", "affected_office_holders", "suppressed", *FIGURE_FIELDS])
    for cell in cells:
        figures = cell.model_dump(include=set(FIGURE_FIELDS))
        writer.writerow(
            [
                *(cell.dims.get(d, "") for d in dims),
                "" if cell.incidents is None else cell.incidents,
                "" if cell.affected_office_holders is None else cell.affected_office_holders,
                str(cell.suppressed).lower(),
                *("" if figures[f] is None else figures[f] for f in FIGURE_FIELDS),
            ]
        )
    return out.getvalue()
