"""Intake's routes (report an incident, read a case) and the case-view subscribers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from services.intake import domain
from services.intake.errors import CaseNotFound, CaseNotYetOpened, ConcurrentCaseUpdate, IdempotencyConflict
from services.intake.store import CaseStore
from shared.contracts.events import (
    CaseFollowup,
    CaseTriaged,
    IncidentReported,
    NotificationStatus,
    ReportSource,
    new_id,
)
from shared.contracts.incident import IncidentReport
from shared.contracts.topics import CASE_FOLLOWUP, CASE_TRIAGED, INCIDENT_REPORTED, NOTIFICATION_STATUS
from shared.http import Problem
from shared.outbox import outbox_entry
from shared.runtime import Runtime

log = structlog.get_logger("weerbaar.intake")

IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)]


class CaseCreated(BaseModel):
    """The answer to a report: the case it opened (or the earlier one, for a repeated Idempotency-Key)."""

    case_id: str
    status: str


class IntakeHandlers:
    def __init__(self, runtime: Runtime, store: CaseStore) -> None:
        self._runtime = runtime
        self._store = store
        self._source = f"/weerbaar/{runtime.service}"

    # --- reports -------------------------------------------------------------------------------------------

    async def report_incident(self, report: IncidentReport, idempotency_key: str | None) -> tuple[str, bool]:
        """Open a case for a report; returns (case_id, created). Durable in the store before returning."""
        case_id = new_id()
        fingerprint = domain.body_fingerprint(report)
        if idempotency_key:
            earlier = await self._store.claim_key(domain.idempotency_id(idempotency_key), fingerprint, case_id)
            if earlier:
                if earlier["fingerprint"] != fingerprint:
                    raise IdempotencyConflict("this Idempotency-Key was used with another body")
                case_id = earlier["case_id"]
        event = IncidentReported(case_id=case_id, report=report, source=ReportSource.HTTP)
        created = await self._store.insert_case(
            domain.new_case(event, now=datetime.now(UTC)),
            event_id=event.event_id,
            outbox=[outbox_entry(event, source=self._source)],
        )
        with structlog.contextvars.bound_contextvars(case_id=case_id, event_id=event.event_id):
            log.info("incident_reported" if created else "incident_report_repeated")
        await self._runtime.outbox.flush_quietly(self._store.cases, case_id)
        return case_id, created

    # --- case view -----------------------------------------------------------------------------------------

    async def on_incident_reported(self, event: IncidentReported) -> None:
        """Reports from bulk or automated sources open their case here; our own exist already."""
        created = await self._store.insert_case(
            domain.new_case(event, now=datetime.now(UTC)), event_id=event.event_id, outbox=[]
        )
        if created:
            log.info("case_opened_from_stream", source=event.source.value)

    async def on_case_triaged(self, event: CaseTriaged) -> None:
        await self._apply(
            event,
            domain.triaged_update,
            f"Triaged: {event.level.value} (score {event.score:g}, policy {event.policy_version})",
        )

    async def on_notification_status(self, event: NotificationStatus) -> None:
        await self._apply(
            event, domain.notification_update, f"Notification to {event.recipient.value}: {event.status.value}"
        )

    async def on_case_followup(self, event: CaseFollowup) -> None:
        await self._apply(
            event,
            domain.followup_update,
            f"Follow-up by {event.organisation}: {event.kind.value}",
            push={
                "followups": {
                    "kind": event.kind.value,
                    "organisation": event.organisation,
                    "outcome": event.outcome,
                    "at": event.occurred,
                }
            },
        )

    async def _apply(self, event: Any, update: Any, summary: str, push: dict[str, Any] | None = None) -> None:
        case = await self._store.load_for_update(event.case_id)
        if case is None:
            raise CaseNotYetOpened(f"case {event.case_id} not opened yet")
        if event.event_id in case.get("seen", []):
            return
        set_fields = {**update(case, event), "updated_at": datetime.now(UTC)}
        pushes = {"timeline": domain.timeline_entry(event, summary), **(push or {})}
        if not await self._store.apply(case, event_id=event.event_id, set_fields=set_fields, push=pushes):
            raise ConcurrentCaseUpdate("case changed concurrently")

    def register(self) -> None:
        self._runtime.consume(INCIDENT_REPORTED, IncidentReported, self.on_incident_reported)
        self._runtime.consume(CASE_TRIAGED, CaseTriaged, self.on_case_triaged)
        self._runtime.consume(NOTIFICATION_STATUS, NotificationStatus, self.on_notification_status)
        self._runtime.consume(CASE_FOLLOWUP, CaseFollowup, self.on_case_followup)

    # --- HTTP ----------------------------------------------------------------------------------------------

    def router(self) -> APIRouter:
        router = APIRouter(prefix="/v1", tags=["incidents"])

        @router.post(
            "/incidents",
            status_code=201,
            response_model=CaseCreated,
            responses={200: {"model": CaseCreated}, 409: {}, 413: {}, 422: {}},
        )
        async def post_incident(report: IncidentReport, idempotency_key: IdempotencyKey = None) -> JSONResponse:
            try:
                case_id, created = await self.report_incident(report, idempotency_key)
            except IdempotencyConflict as exc:
                raise Problem(409, "Idempotency-Key reused", str(exc), code=exc.code) from exc
            body = CaseCreated(case_id=case_id, status=domain.CaseStatus.RECEIVED.value)
            return JSONResponse(
                body.model_dump(), status_code=201 if created else 200, headers={"Location": f"/v1/cases/{case_id}"}
            )

        @router.get("/cases/{case_id}")
        async def get_case(case_id: str) -> JSONResponse:
            case = await self._store.get(case_id)
            if case is None:
                raise Problem(404, "Case not found", f"no case {case_id}", code=CaseNotFound.code)
            case["case_id"] = case.pop("_id")
            return JSONResponse(_jsonable(case))

        return router


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value
