"""The workflow's routes: the caller's queue, assign, notes, a human decision on the level, close and reopen.

Every call is authorised per role, organisation and municipality (``services/intake/access.py``), audited, and (but
the queue) on the case's timeline.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import date, datetime
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as Path_
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.intake.errors import CaseConflict, CaseNotFound, NotAllowed
from services.intake.queue import Filters
from services.intake.workflow import Done, Workflow
from shared.contracts.events import FollowupKind, MeasureAuthority, RiskLevel
from shared.contracts.topics import Recipient
from shared.web.audit import AuditLog
from shared.web.auth import Principal, forbidden
from shared.web.guard import require
from shared.web.http import Problem, problem_responses
from shared.web.policy import Action

CaseId = Annotated[str, Path_(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
T = TypeVar("T")
_ACTION_ERRORS = problem_responses(404, 409, e404="No such case", e409="The case's state does not allow it")


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AssignBody(_Body):
    to: str = Field(min_length=1, max_length=200, description="Staff identifier of a person of your organisation")
    part: Recipient | None = Field(default=None, description="Whose part of the case (default: your own)")


class NoteBody(_Body):
    text: str = Field(min_length=1, max_length=4000)


class AssessmentBody(_Body):
    level: RiskLevel
    reason: str = Field(min_length=1, max_length=2000)


class ReasonBody(_Body):
    reason: str = Field(min_length=1, max_length=2000)


class FollowupBody(_Body):
    kind: FollowupKind
    outcome: str = Field(default="", max_length=200, description="e.g. dagvaarding, strafbeschikking, sepot")
    authority: MeasureAuthority | None = Field(default=None, description="protective_measure: who ordered it")
    measure: str | None = Field(default=None, min_length=1, max_length=200, description="protective_measure: what")
    until: date | None = Field(default=None, description="protective_measure: until when")

    @model_validator(mode="after")
    def _measure(self) -> FollowupBody:
        protective = self.kind is FollowupKind.PROTECTIVE_MEASURE
        if protective and (self.authority is None or self.measure is None):
            raise ValueError("a protective_measure needs its authority (om, burgemeester, nctv) and what it is")
        if not protective and (self.authority or self.measure or self.until):
            raise ValueError("authority, measure and until belong to a protective_measure only")
        return self


_MEASURE = {
    "kind": "protective_measure",
    "authority": "burgemeester",
    "measure": "camera bij de woning",
    "until": "2027-06-30",
}


class CaseChanged(BaseModel):
    case_id: str
    status: str
    changed: bool = Field(description="false when the case was like this already (e.g. closed twice)")


class NoteAdded(CaseChanged):
    note_id: str


class LevelDecided(CaseChanged):
    decision_no: int
    level: RiskLevel
    recommended_level: RiskLevel | None


class QueueItem(BaseModel):
    case_id: str
    status: str
    level: str | None
    recommended_level: str | None
    decided_level: str | None
    routes: list[str]
    office_holder_role: str | None
    body_code: str | None
    types: list[str]
    channel: str | None
    notifications: dict[str, str]
    assigned: dict[str, str]
    overdue: bool
    unacknowledged: list[str]
    created_at: datetime | None
    updated_at: datetime | None
    closed_at: datetime | None


class QueuePage(BaseModel):
    items: list[QueueItem]
    total: int
    next: str | None = Field(description="The next page's URL, or null on the last page")


async def audited(audit: AuditLog, principal: Principal, action: Action, case_id: str, work: Awaitable[T]) -> T:
    """Run a workflow action, audit it, and answer its refusals as problem+json (the API and the desk page alike)."""
    try:
        result = await work
    except CaseNotFound as exc:
        raise Problem(404, "Case not found", str(exc), code=exc.code) from exc
    except NotAllowed as exc:
        await audit.record(principal, action.value, case_id=case_id, outcome="denied")
        raise forbidden(str(exc)) from exc
    except CaseConflict as exc:
        await audit.record(principal, action.value, case_id=case_id, outcome="refused", reason=str(exc))
        raise Problem(409, "Conflict with the case's state", str(exc), code=exc.code) from exc
    await audit.record(principal, action.value, case_id=case_id)
    return result


class WorkflowRoutes:
    def __init__(self, workflow: Workflow, *, audit: AuditLog) -> None:
        self._workflow = workflow
        self._audit = audit

    async def _done(self, principal: Principal, action: Action, case_id: str, work: Awaitable[T]) -> T:
        return await audited(self._audit, principal, action, case_id, work)

    def router(self) -> APIRouter:
        router = APIRouter(prefix="/v1", tags=["workflow"])
        workflow = self._workflow

        @router.get("/cases", response_model=QueuePage)
        async def queue(
            request: Request,
            principal: Annotated[Principal, Depends(require(Action.LIST_CASES))],
            recipient: Recipient | None = None,
            status: Annotated[
                str | None, Query(pattern="^(open|closed|received|triaged|notified|in_follow_up)$")
            ] = None,
            level: RiskLevel | None = None,
            assigned_to: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
            unacknowledged: bool | None = None,
            overdue: bool | None = None,
            q: Annotated[str | None, Query(max_length=200)] = None,
            page: Annotated[int, Query(ge=1, le=100_000)] = 1,
            per_page: Annotated[int, Query(ge=1, le=200)] = 50,
        ) -> JSONResponse:
            """The caller's queue: only cases the caller may read, acute and overdue first, paged.

            `assigned_to=me` is the caller's own token subject. Free text (`q`) searches the facts the queue shows.
            """
            filters = Filters(recipient, status, level, assigned_to, unacknowledged, overdue, q)
            found = workflow.queue(principal, filters, page=page, per_page=per_page)
            await self._audit.record(principal, Action.LIST_CASES.value, outcome=f"listed {len(found.items)}")
            following = None
            if found.next_page is not None:
                following = str(request.url.include_query_params(page=found.next_page))
            body: dict[str, Any] = {"items": found.items, "total": found.total, "next": following}
            return JSONResponse(body, headers={"Cache-Control": "no-store"})

        @router.post("/cases/{case_id}/assign", response_model=CaseChanged, responses=_ACTION_ERRORS)
        async def assign(
            case_id: CaseId, body: AssignBody, principal: Annotated[Principal, Depends(require(Action.ASSIGN_CASE))]
        ) -> CaseChanged:
            """Give your organisation's part of the case to a person of your organisation (on the timeline)."""
            own = Recipient(principal.role.value)
            if body.part is not None and body.part is not own:
                raise forbidden(f"a {own.value} assigns only the {own.value} part of a case")
            done = await self._done(
                principal, Action.ASSIGN_CASE, case_id, workflow.assign(case_id, principal, part=own, to=body.to)
            )
            return _changed(done)

        @router.post("/cases/{case_id}/notes", status_code=201, response_model=NoteAdded, responses=_ACTION_ERRORS)
        async def add_note(
            case_id: CaseId, body: NoteBody, principal: Annotated[Principal, Depends(require(Action.ADD_NOTE))]
        ) -> NoteAdded:
            """A note with its author and time ("called the raadslid, aangifte planned"); sealed at rest."""
            done, note_id = await self._done(
                principal, Action.ADD_NOTE, case_id, workflow.add_note(case_id, principal, text=body.text)
            )
            return NoteAdded(**_changed(done).model_dump(), note_id=note_id)

        @router.post("/cases/{case_id}/assessment", response_model=LevelDecided, responses=_ACTION_ERRORS)
        async def assess(
            case_id: CaseId,
            body: AssessmentBody,
            principal: Annotated[Principal, Depends(require(Action.ASSESS_CASE))],
        ) -> LevelDecided:
            """A human decision on the level beside triage's recommendation; triage routes the new level.

            An upgrade notifies whoever the new level routes to; a downgrade keeps every recipient notified before.
            """
            done = await self._done(
                principal,
                Action.ASSESS_CASE,
                case_id,
                workflow.decide_level(case_id, principal, level=body.level, reason=body.reason),
            )
            decision = done.case.decisions[-1]
            return LevelDecided(
                **_changed(done).model_dump(),
                decision_no=decision.decision_no,
                level=decision.level,
                recommended_level=decision.recommended_level,
            )

        @router.post(
            "/cases/{case_id}/followups",
            status_code=201,
            response_model=CaseChanged,
            responses=_ACTION_ERRORS,
            openapi_extra={"requestBody": {"content": {"application/json": {"example": _MEASURE}}}},
        )
        async def add_followup(
            case_id: CaseId,
            body: FollowupBody,
            principal: Annotated[Principal, Depends(require(Action.RECORD_FOLLOWUP))],
        ) -> CaseChanged:
            """Record a follow-up of your own: OTWB aftercare, a CCV scan requested or done, a protective measure
            (who ordered it: OM, burgemeester or NCTV; what; until when), or police and OM follow-ups. Published on
            `weerbaar.case.followup.v1` like a liaison's and counted by reporting."""
            fields = body.model_dump(exclude={"kind"})
            done = await self._done(
                principal,
                Action.RECORD_FOLLOWUP,
                case_id,
                workflow.add_followup(case_id, principal, kind=body.kind, **fields),
            )
            return _changed(done)

        @router.post("/cases/{case_id}/close", response_model=CaseChanged, responses=_ACTION_ERRORS)
        async def close(
            case_id: CaseId, body: ReasonBody, principal: Annotated[Principal, Depends(require(Action.CLOSE_CASE))]
        ) -> CaseChanged:
            """Close the case with a reason; 409 while a notification that must be acknowledged was neither
            acknowledged nor escalated. Retention counts from closing; a new report of the incident reopens it."""
            done = await self._done(
                principal, Action.CLOSE_CASE, case_id, workflow.close(case_id, principal, reason=body.reason)
            )
            return _changed(done)

        @router.post("/cases/{case_id}/reopen", response_model=CaseChanged, responses=_ACTION_ERRORS)
        async def reopen(
            case_id: CaseId, body: ReasonBody, principal: Annotated[Principal, Depends(require(Action.REOPEN_CASE))]
        ) -> CaseChanged:
            """Reopen a closed case with a reason (`changed: false` when it was open)."""
            done = await self._done(
                principal, Action.REOPEN_CASE, case_id, workflow.reopen(case_id, principal, reason=body.reason)
            )
            return _changed(done)

        return router


def _changed(done: Done) -> CaseChanged:
    case = done.case
    return CaseChanged(case_id=case.case_id, status=case.status.value, changed=done.changed)
