"""Intake's routes (report an incident, read a case) and the case-view subscribers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query
from fastapi import Path as Path_
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from services.intake.domain import Case, Outcome
from services.intake.errors import CaseNotFound, IdempotencyConflict
from services.intake.service import IntakeService
from services.intake.store import CaseRepository
from services.intake.values import Filer
from services.intake.views import case_access, case_view
from shared.contracts.events import (
    AcuteSignal,
    CaseErased,
    CaseFollowup,
    CaseTriaged,
    ErasureReason,
    IncidentReported,
    NotificationStatus,
)
from shared.contracts.incident import EXAMPLE_REPORT, IncidentReport
from shared.contracts.topics import (
    ACUTE_SIGNAL,
    CASE_ERASED,
    CASE_FOLLOWUP,
    CASE_TRIAGED,
    INCIDENT_REPORTED,
    INCIDENT_URGENT,
    NOTIFICATION_STATUS,
)
from shared.runtime.service import Runtime
from shared.web.audit import AuditLog
from shared.web.auth import Principal, forbidden
from shared.web.guard import require
from shared.web.http import Problem, problem_responses
from shared.web.need_to_know import View, case_sight
from shared.web.policy import Action, CaseAccess, decide
from shared.web.ratelimit import TokenBucket

CASE_ID = r"^[A-Za-z0-9_-]{1,64}$"
CaseId = Annotated[str, Path_(pattern=CASE_ID)]

IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)]


class CaseCreated(BaseModel):
    """The answer to a report: the case it belongs to."""

    case_id: str
    report_id: str
    status: str
    merged_into_existing_case: bool = False
    """True only when the caller filed another report of this case: nobody learns of other filers' reports."""


_LOCATION = {"required": True, "description": "/v1/cases/{case_id}", "schema": {"type": "string"}}
_LOCATED = {"headers": {"Location": _LOCATION}}


class CaseView(BaseModel):
    """A case as the caller sees it (`view`: filer, a recipient's view, or the admin's full file; docs/security.md).
    Every view has these keys; the others depend on the view."""

    model_config = ConfigDict(extra="allow")
    case_id: str
    view: View
    status: str
    reports: list[dict[str, Any]]


class AuditTrail(BaseModel):
    case_id: str
    entries: list[dict[str, Any]] = Field(description="who read or changed the case, when, why; oldest first")


class IntakeHandlers:
    def __init__(
        self,
        runtime: Runtime,
        store: CaseRepository,
        service: IntakeService,
        *,
        audit: AuditLog,
        rate_limit_per_minute: int,
    ) -> None:
        self._runtime = runtime
        self._store = store
        self._service = service
        self._audit = audit
        self._bucket = TokenBucket(rate_limit_per_minute)

    async def _rate_limited(
        self, principal: Annotated[Principal, Depends(require(Action.REPORT_INCIDENT))]
    ) -> Principal:
        self._bucket.check(principal.sub)
        return principal

    async def _case(self, case_id: str) -> tuple[Case, CaseAccess]:
        case = await self._store.get(case_id)
        if case is None or not case.opened:  # events that came before their report make no case yet
            raise Problem(404, "Case not found", f"no case {case_id}", code=CaseNotFound.code)
        return case, case_access(case)

    async def _refused(self, principal: Principal, action: Action, case_id: str, reason: str) -> Problem:
        """Every refusal is audited too."""
        await self._audit.record(principal, action.value, case_id=case_id, outcome="denied")
        return forbidden(reason)

    def register(self) -> None:
        self._runtime.produces(INCIDENT_REPORTED, IncidentReported, "A report was accepted and belongs to this case")
        self._runtime.produces(INCIDENT_URGENT, IncidentReported, "Acute lane: a copy of a possibly acute report")
        self._runtime.produces(
            ACUTE_SIGNAL, AcuteSignal, "Acute lane: heads-up while a possibly acute report is stored"
        )
        service = self._service
        # One consumer for the case file: a case's reports and events of a batch, from every topic, in one save.
        self._runtime.consume(
            INCIDENT_REPORTED,
            IncidentReported,
            service.take_stream_report,
            per_case=service.apply_events,
            also={
                CASE_TRIAGED: (CaseTriaged, service.apply_event),
                NOTIFICATION_STATUS: (NotificationStatus, service.apply_event),
                CASE_FOLLOWUP: (CaseFollowup, service.apply_event),
            },
            name="case-file",
        )
        self._runtime.produces(CASE_ERASED, CaseErased, "Personal data of a case was erased; drop your copy")
        self._runtime.produces(CASE_FOLLOWUP, CaseFollowup, "A follow-up recorded over HTTP (the case workflow)")

    def router(self) -> APIRouter:
        router = APIRouter(prefix="/v1", tags=["incidents"])

        @router.post(
            "/incidents",
            status_code=201,
            response_model=CaseCreated,
            responses={
                201: _LOCATED,
                200: {
                    "model": CaseCreated,
                    "description": "The same request again (Idempotency-Key)",
                    **_LOCATED,
                },
                **problem_responses(409, 429, e409="Idempotency-Key reused with another body"),
            },
            openapi_extra={"requestBody": {"content": {"application/json": {"example": EXAMPLE_REPORT}}}},
        )
        async def post_incident(
            report: IncidentReport,
            principal: Principal = Depends(self._rate_limited),  # noqa: B008 - bound method, not a global
            idempotency_key: IdempotencyKey = None,
        ) -> JSONResponse:
            """Report an incident; 201 once it is stored durably with its outgoing event."""
            filer = Filer(sub=principal.sub, role=principal.role.value, org=principal.org)
            try:
                receipt = await self._service.report_incident(report, idempotency_key, filer)
            except IdempotencyConflict as exc:
                raise Problem(409, "Idempotency-Key reused", str(exc), code=exc.code) from exc
            await self._audit.record(principal, Action.REPORT_INCIDENT.value, case_id=receipt.case_id)
            body = CaseCreated(
                case_id=receipt.case_id,
                report_id=receipt.report_id,
                status=receipt.status,
                merged_into_existing_case=receipt.merged,
            )
            return JSONResponse(
                body.model_dump(),
                status_code=200 if receipt.outcome is Outcome.REPEATED else 201,
                headers={"Location": f"/v1/cases/{receipt.case_id}"},
            )

        @router.get(
            "/cases/{case_id}",
            responses={200: {"model": CaseView}, **problem_responses(404, e404="No such case")},
        )
        async def get_case(
            case_id: CaseId, principal: Annotated[Principal, Depends(require(Action.READ_CASE))]
        ) -> JSONResponse:
            """The case file: status, risk, notifications, follow-ups, links and the timeline.

            Need-to-know (see docs/security.md); an admin reads only with an `X-Break-Glass-Reason`. Audited.
            """
            case, access = await self._case(case_id)
            sight = case_sight(principal, access)
            if not sight or sight.view is None:
                raise await self._refused(principal, Action.READ_CASE, case_id, sight.decision.reason)
            await self._audit.record(principal, Action.READ_CASE.value, case_id=case_id)
            timeline = [] if sight.view is View.FILER else await self._store.timeline(case)
            body = case_view(
                sight.view,
                case,
                timeline,
                self._store.codec,
                sub=principal.sub,
                org=principal.org,
                holder_ref=self._service.office_holder_ref,
            )
            return JSONResponse(_jsonable(body), headers={"Cache-Control": "no-store"})

        @router.delete("/cases/{case_id}", status_code=204, responses=problem_responses(404, e404="No such case"))
        async def erase_case(
            case_id: CaseId, principal: Annotated[Principal, Depends(require(Action.ERASE_CASE))]
        ) -> Response:
            """Erase personal data everywhere; the non-personal facts stay.

            A filer erases the reports it filed (the whole case when they are all of it); an admin the whole case.
            """
            _, access = await self._case(case_id)
            decision = decide(principal, Action.ERASE_CASE, access)
            if not decision:
                raise await self._refused(principal, Action.ERASE_CASE, case_id, decision.reason)
            filer = principal.sub if decision.own_reports_only else None
            # The request goes into the trail before anything is erased: a process that stops between the erasure
            # and its outcome's entry leaves the request (who, why) in the trail; an audit store that cannot take
            # the entry stops the erasure (no erasure without its trail).
            await self._audit.record(principal, Action.ERASE_CASE.value, case_id=case_id, outcome="requested")
            try:
                erased = await self._service.erase(case_id, ErasureReason.REQUEST, filer=filer, org=principal.org)
            except CaseNotFound as exc:
                raise Problem(404, "Case not found", str(exc), code=exc.code) from exc
            await self._audit.record(
                principal, Action.ERASE_CASE.value, case_id=case_id, outcome="erased" if erased else "already_erased"
            )
            return Response(status_code=204)

        @router.get("/audit", tags=["audit"], responses={200: {"model": AuditTrail}})
        async def audit_trail(
            principal: Annotated[Principal, Depends(require(Action.READ_AUDIT))],
            case_id: Annotated[str, Query(pattern=CASE_ID)],
        ) -> JSONResponse:
            """Who read or changed a case, when and why (admin only; this read is audited too)."""
            await self._audit.record(principal, Action.READ_AUDIT.value, case_id=case_id)
            entries = await self._audit.for_case(case_id)
            return JSONResponse({"case_id": case_id, "entries": _jsonable(entries)})

        return router


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value
