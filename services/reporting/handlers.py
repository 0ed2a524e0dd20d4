"""Reporting's subscribers and routes: keep the projection, publish cells, answer summaries."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, Header, Query, Response

from services.reporting import domain
from services.reporting.errors import UnknownDimension
from services.reporting.settings import Settings
from services.reporting.store import ReportingStore
from shared.contracts.events import CaseTriaged, ReportCell, ReportStats
from shared.contracts.topics import CASE_TRIAGED, REPORT_STATS
from shared.guard import require
from shared.http import Problem
from shared.policy import Action
from shared.runtime import Runtime

log = structlog.get_logger("weerbaar.reporting")


class ReportingHandlers:
    def __init__(self, runtime: Runtime, store: ReportingStore, settings: Settings) -> None:
        self._runtime = runtime
        self._store = store
        self._settings = settings

    def register(self) -> None:
        self._runtime.produces(REPORT_STATS, ReportStats, "One report cell (compacted: latest value per key)")
        self._runtime.consume(CASE_TRIAGED, CaseTriaged, self.on_case_triaged)

    async def on_case_triaged(self, event: CaseTriaged) -> None:
        fact = domain.fact_of(event)
        if await self._store.upsert_fact(event.case_id, fact):
            log.info("case_counted", level=event.level.value)
        await self.publish_period_cell(str(fact["period"]))

    async def publish_period_cell(self, period: str) -> None:
        """Re-publish the cell of one period on the compacted stats topic (the latest value wins)."""
        raw = [c for c in await self._store.cells(("period",), None, None) if c.dims.get("period") == period]
        for cell in domain.suppress(raw, threshold=self._settings.disclosure_threshold):
            key = domain.cell_key(cell.dims)
            await self._runtime.publisher.publish(ReportStats(cell_key=key, cell=cell), key=key)

    async def summary(self, start: date | None, end: date | None, group_by: str | None) -> list[ReportCell]:
        try:
            dims = domain.parse_group_by(group_by)
        except UnknownDimension as exc:
            raise Problem(
                422, "Invalid request", str(exc), errors=[{"field": "group_by", "message": str(exc)}]
            ) from exc
        raw = await self._store.cells(dims, start, end)
        return domain.sort_cells(domain.suppress(raw, threshold=self._settings.disclosure_threshold), dims)

    def router(self) -> APIRouter:
        # Aggregates only (bzk, jenv, admin); a route added to this router is guarded the same way.
        router = APIRouter(
            prefix="/v1/reports",
            tags=["reports"],
            dependencies=[Depends(require(Action.READ_REPORTS))],
            responses={401: {"description": "no or invalid bearer token"}, 403: {"description": "role not allowed"}},
        )

        @router.get("/summary")
        async def summary(
            start: Annotated[date | None, Query(alias="from")] = None,
            end: Annotated[date | None, Query(alias="to")] = None,
            group_by: str | None = None,
            accept: Annotated[str | None, Header()] = None,
        ) -> Response:
            cells = await self.summary(start, end, group_by)
            if accept and "text/csv" in accept:
                return Response(_as_csv(cells, domain.parse_group_by(group_by)), media_type="text/csv")
            body = {
                "from": start.isoformat() if start else None,
                "to": end.isoformat() if end else None,
                "group_by": list(domain.parse_group_by(group_by)),
                "threshold": self._settings.disclosure_threshold,
                "cells": [c.model_dump() for c in cells],
            }
            return Response(_json(body), media_type="application/json")

        return router


def _json(body: object) -> str:
    return json.dumps(body, ensure_ascii=False)


def _as_csv(cells: list[ReportCell], dims: tuple[str, ...]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*dims, "incidents", "affected_office_holders", "suppressed"])
    for cell in cells:
        writer.writerow(
            [
                *(cell.dims.get(d, "") for d in dims),
                "" if cell.incidents is None else cell.incidents,
                "" if cell.affected_office_holders is None else cell.affected_office_holders,
                str(cell.suppressed).lower(),
            ]
        )
    return out.getvalue()
