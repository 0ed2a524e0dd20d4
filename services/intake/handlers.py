"""Intake's routes (report an incident, read a case) and the case-view subscribers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from services.intake.errors import CaseNotFound, IdempotencyConflict
from services.intake.service import IntakeService, Outcome
from services.intake.store import CaseStore
from shared.contracts.events import CaseFollowup, CaseTriaged, IncidentReported, NotificationStatus
from shared.contracts.incident import IncidentReport
from shared.contracts.topics import (
    CASE_FOLLOWUP,
    CASE_TRIAGED,
    INCIDENT_REPORTED,
    INCIDENT_URGENT,
    NOTIFICATION_STATUS,
)
from shared.http import Problem
from shared.runtime import Runtime

IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)]


class CaseCreated(BaseModel):
    """The answer to a report: the case it belongs to."""

    case_id: str
    report_id: str
    status: str
    merged_into_existing_case: bool = False


class IntakeHandlers:
    def __init__(self, runtime: Runtime, store: CaseStore, service: IntakeService) -> None:
        self._runtime = runtime
        self._store = store
        self._service = service

    def register(self) -> None:
        self._runtime.produces(INCIDENT_REPORTED, IncidentReported, "A report was accepted and belongs to this case")
        self._runtime.produces(INCIDENT_URGENT, IncidentReported, "Acute lane: a copy of a possibly acute report")
        self._runtime.consume(INCIDENT_REPORTED, IncidentReported, self._service.record_stream_report)
        self._runtime.consume(CASE_TRIAGED, CaseTriaged, self._service.apply_triaged)
        self._runtime.consume(NOTIFICATION_STATUS, NotificationStatus, self._service.apply_notification_status)
        self._runtime.consume(CASE_FOLLOWUP, CaseFollowup, self._service.apply_followup)

    def router(self) -> APIRouter:
        router = APIRouter(prefix="/v1", tags=["incidents"])

        @router.post(
            "/incidents",
            status_code=201,
            response_model=CaseCreated,
            responses={
                200: {"model": CaseCreated, "description": "the same request again (Idempotency-Key)"},
                409: {"description": "Idempotency-Key reused with another body"},
                413: {"description": "body over the size limit"},
            },
        )
        async def post_incident(report: IncidentReport, idempotency_key: IdempotencyKey = None) -> JSONResponse:
            """Report an incident; 201 once it is stored durably with its outgoing event."""
            try:
                receipt = await self._service.report_incident(report, idempotency_key)
            except IdempotencyConflict as exc:
                raise Problem(409, "Idempotency-Key reused", str(exc), code=exc.code) from exc
            body = CaseCreated(
                case_id=receipt.case_id,
                report_id=receipt.report_id,
                status=receipt.status,
                merged_into_existing_case=receipt.outcome is Outcome.ADDED,
            )
            return JSONResponse(
                body.model_dump(),
                status_code=200 if receipt.outcome is Outcome.REPEATED else 201,
                headers={"Location": f"/v1/cases/{receipt.case_id}"},
            )

        @router.get("/cases/{case_id}")
        async def get_case(case_id: str) -> JSONResponse:
            """The case file: status, risk, notifications, follow-ups, links and the timeline."""
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
