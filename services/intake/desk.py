"""The OTWB duty officer's page (``/desk``): the queue, a report taken by phone on behalf of an office holder, a case
with its notes, a note added, a case closed. Server-rendered HTML, plain forms, no script, no build step.

A browser opens the page with ``?access_token=`` (RFC 6750 §2.3, pages only); its forms carry the token as a
form-encoded body parameter (RFC 6750 §2.2), which is no ambient credential (nothing a other site's form could send).
Every action goes through the same use cases, authorisation and audit as the API.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import parse_qs, quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from services.intake import desk_html
from services.intake.errors import CaseNotFound
from services.intake.queue import Filters
from services.intake.service import IntakeService
from services.intake.store import CaseRepository
from services.intake.values import Filer
from services.intake.views import case_access, case_view
from services.intake.workflow import Workflow
from services.intake.workflow_routes import audited
from shared.audit import AuditLog
from shared.auth import Principal, TokenVerifier, Unauthenticated, forbidden
from shared.contracts.incident import IncidentReport
from shared.guard import require
from shared.http import Problem
from shared.need_to_know import case_sight
from shared.policy import Action, may_attempt

LOCAL = ZoneInfo("Europe/Amsterdam")
_PAGE_HEADERS = {"Cache-Control": "no-store"}


class DeskRoutes:
    def __init__(
        self,
        store: CaseRepository,
        service: IntakeService,
        workflow: Workflow,
        *,
        audit: AuditLog,
        verifier: TokenVerifier,
    ) -> None:
        self._store = store
        self._service = service
        self._workflow = workflow
        self._audit = audit
        self._verifier = verifier

    async def _form(self, request: Request, action: Action) -> tuple[Principal, dict[str, list[str]], str]:
        """The form's fields and the caller its ``access_token`` names, if it may use the desk and ``action``."""
        fields = parse_qs((await request.body()).decode("utf-8", errors="replace"), keep_blank_values=True)
        token = (fields.pop("access_token", [""]) or [""])[0].strip()
        try:
            principal = await self._verifier.verify_async(token)
        except Unauthenticated as exc:
            raise Problem(401, "Unauthenticated", str(exc), code="unauthenticated") from exc
        for needed in (Action.USE_DESK, action):
            decision = may_attempt(principal, needed)
            if not decision:
                raise forbidden(decision.reason)
        return principal, fields, token

    def router(self) -> APIRouter:
        router = APIRouter(prefix="/desk", tags=["desk"], include_in_schema=False)
        workflow = self._workflow

        @router.get("", response_class=HTMLResponse)
        async def desk(
            request: Request, principal: Annotated[Principal, Depends(require(Action.USE_DESK, page=True))]
        ) -> HTMLResponse:
            token = request.query_params.get("access_token", "")
            return HTMLResponse(self._desk(principal, token), headers=_PAGE_HEADERS)

        @router.post("/incidents", response_class=HTMLResponse)
        async def take_report(request: Request) -> Any:
            principal, fields, token = await self._form(request, Action.REPORT_INCIDENT)
            try:
                report = _report(fields, organisation=principal.org or "OTWB")
            except (ValidationError, ValueError) as exc:
                errors = [str(e.get("msg")) for e in exc.errors()] if isinstance(exc, ValidationError) else [str(exc)]
                return HTMLResponse(self._desk(principal, token, errors), status_code=422, headers=_PAGE_HEADERS)
            filer = Filer(sub=principal.sub, role=principal.role.value, org=principal.org)
            receipt = await self._service.report_incident(report, None, filer)
            await self._audit.record(principal, Action.REPORT_INCIDENT.value, case_id=receipt.case_id)
            return _to_case(receipt.case_id, token)

        @router.get("/cases/{case_id}", response_class=HTMLResponse)
        async def case_page(
            case_id: str,
            request: Request,
            principal: Annotated[Principal, Depends(require(Action.USE_DESK, page=True))],
        ) -> HTMLResponse:
            case = await self._store.get(case_id)
            if case is None or not case.opened:
                raise Problem(404, "Case not found", f"no case {case_id}", code=CaseNotFound.code)
            sight = case_sight(principal, case_access(case))
            if not sight or sight.view is None:
                await self._audit.record(principal, Action.READ_CASE.value, case_id=case_id, outcome="denied")
                raise forbidden(sight.decision.reason)
            await self._audit.record(principal, Action.READ_CASE.value, case_id=case_id)
            view = case_view(
                sight.view, case, [], self._store.codec, sub=principal.sub, holder_ref=self._service.office_holder_ref
            )
            token = request.query_params.get("access_token", "")
            return HTMLResponse(desk_html.case(view, token=token), headers=_PAGE_HEADERS)

        @router.post("/cases/{case_id}/notes")
        async def add_note(case_id: str, request: Request) -> RedirectResponse:
            principal, text, token = await self._text(request, Action.ADD_NOTE, "text", 4000)
            await self._acted(principal, Action.ADD_NOTE, case_id, workflow.add_note(case_id, principal, text=text))
            return _to_case(case_id, token)

        @router.post("/cases/{case_id}/close")
        async def close(case_id: str, request: Request) -> RedirectResponse:
            principal, reason, token = await self._text(request, Action.CLOSE_CASE, "reason", 2000)
            await self._acted(principal, Action.CLOSE_CASE, case_id, workflow.close(case_id, principal, reason=reason))
            return _to_case(case_id, token)

        return router

    async def _text(self, request: Request, action: Action, name: str, limit: int) -> tuple[Principal, str, str]:
        """The caller, the one text field the form must carry (a note, a reason), and the token."""
        principal, fields, token = await self._form(request, action)
        text = (fields.get(name) or [""])[0].strip()[:limit]
        if not text:
            raise Problem(422, "Invalid request", f"{name} is required", errors=[{"field": name}])
        return principal, text, token

    def _desk(self, principal: Principal, token: str, errors: list[str] | None = None) -> str:
        found = self._workflow.queue(principal, Filters(status="open"), page=1, per_page=200)
        items = sorted(found.items, key=lambda i: not i["unacknowledged"])  # stable: acute first within each
        return desk_html.desk(items, token=token, errors=errors)

    async def _acted(self, principal: Principal, action: Action, case_id: str, work: Any) -> None:
        await audited(self._audit, principal, action, case_id, work)


def _to_case(case_id: str, token: str) -> RedirectResponse:
    return RedirectResponse(f"/desk/cases/{quote(case_id)}?access_token={quote(token)}", status_code=303)


def _report(fields: dict[str, list[str]], *, organisation: str) -> IncidentReport:
    """The report a phone call gave, as the form has it (validated like the API's body)."""

    def one(name: str) -> str:
        return (fields.get(name) or [""])[0].strip()

    occurred = datetime.fromisoformat(one("occurred_at"))
    if occurred.tzinfo is None:
        occurred = occurred.replace(tzinfo=LOCAL)
    code = one("body_code").upper()
    kind = {"GM": "gemeente", "PV": "provincie", "WS": "waterschap"}.get(code[:2], "gemeente")
    contact = {k: v for k in ("email", "phone") if (v := one(k))}
    return IncidentReport.model_validate(
        {
            "reported_by": {"kind": "on_behalf", "organisation": organisation},
            "office_holder": {
                "name": one("name"),
                "role": one("role"),
                "body": {"kind": kind, "code": code},
                "gender": one("gender") or "onbekend",
                "contact": contact,
            },
            "incident": {
                "occurred_at": occurred.isoformat(),
                "types": fields.get("types") or [],
                "channel": one("channel"),
                "description": one("description"),
                "indicators": {name: name in fields for name in desk_html.INDICATORS},
            },
            "wants_aangifte": "wants_aangifte" in fields,
        }
    )
