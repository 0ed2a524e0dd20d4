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
from shared.contracts.incident import IncidentReport
from shared.web.audit import AuditLog
from shared.web.auth import Principal, TokenVerifier, Unauthenticated, forbidden, unauthenticated
from shared.web.guard import require
from shared.web.http import Problem, problem_responses
from shared.web.need_to_know import case_sight
from shared.web.policy import Action, may_attempt

LOCAL = ZoneInfo("Europe/Amsterdam")
_PAGE_HEADERS = {"Cache-Control": "no-store"}

# The forms in the OpenAPI document: each carries the page's token as a body parameter (RFC 6750 §2.2).
_TEXT = {"type": "string"}
_PRESENT = {"type": "string", "description": "present (any value): yes"}
_REPORT_FIELDS: dict[str, Any] = {
    **dict.fromkeys(("name", "role", "body_code", "gender", "email", "phone", "channel", "description"), _TEXT),
    "occurred_at": {"type": "string", "description": "ISO 8601; without an offset: Europe/Amsterdam"},
    "types": {"type": "array", "items": _TEXT},
    "wants_aangifte": _PRESENT,
    **dict.fromkeys(desk_html.INDICATORS, _PRESENT),
}
_REPORT_REQUIRED = ["name", "role", "body_code", "occurred_at", "types", "channel", "description"]
_REPORT_EXAMPLE = {
    "access_token": "<the page's token>",
    "name": "A. Voorbeeld",
    "role": "raadslid",
    "body_code": "GM0344",
    "gender": "vrouw",
    "email": "s.devries@example.nl",
    "occurred_at": "2026-11-20T21:30",
    "types": ["threat"],
    "channel": "phone",
    "description": "Gebeld door de griffie: dreigende berichten",
    "explicit_threat": "on",
    "wants_aangifte": "on",
}
_TO_CASE: dict[int | str, dict[str, Any]] = {
    303: {
        "description": "Done: the case's page",
        "headers": {"Location": {"required": True, "schema": {"type": "string"}}},
    }
}
_FORM_AGAIN = {"description": "The page again, with what is wrong", "content": {"text/html": {"schema": _TEXT}}}
_ACTED = {**_TO_CASE, **problem_responses(401, 403, 404, 409, 422, 503)}


def _one_text_form(name: str, limit: int) -> dict[str, Any]:
    """How a form with one text (a note, a reason) that acts on a case is documented: done, it shows the case."""
    return {
        "status_code": 303,
        "response_class": RedirectResponse,
        "responses": _ACTED,
        "openapi_extra": _form({name: {"type": "string", "maxLength": limit}}, required=[name]),
    }


def _form(fields: dict[str, Any], *, required: list[str], example: dict[str, Any] | None = None) -> dict[str, Any]:
    schema = {
        "type": "object",
        "required": ["access_token", *required],
        "properties": {"access_token": {"type": "string", "description": "The page's bearer token"}, **fields},
    }
    media: dict[str, Any] = {"schema": schema}
    if example:
        media["example"] = example
    return {"requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": media}}}


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
            raise unauthenticated(str(exc)) from exc
        for needed in (Action.USE_DESK, action):
            decision = may_attempt(principal, needed)
            if not decision:
                raise forbidden(decision.reason)
        return principal, fields, token

    def router(self) -> APIRouter:
        router = APIRouter(prefix="/desk", tags=["desk"])
        workflow = self._workflow

        @router.get("", response_class=HTMLResponse)
        async def desk(
            request: Request, principal: Annotated[Principal, Depends(require(Action.USE_DESK, page=True))]
        ) -> HTMLResponse:
            token = request.query_params.get("access_token", "")
            return HTMLResponse(self._desk(principal, token), headers=_PAGE_HEADERS)

        @router.post(
            "/incidents",
            status_code=303,
            response_class=RedirectResponse,
            responses={**_TO_CASE, 422: _FORM_AGAIN, **problem_responses(401, 403, 503)},
            openapi_extra=_form(_REPORT_FIELDS, required=_REPORT_REQUIRED, example=_REPORT_EXAMPLE),
        )
        async def take_report(request: Request) -> Any:
            """A report taken by phone on behalf of an office holder (validated like `POST /v1/incidents`)."""
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
                sight.view,
                case,
                [],
                self._store.codec,
                sub=principal.sub,
                org=principal.org,
                holder_ref=self._service.office_holder_ref,
            )
            token = request.query_params.get("access_token", "")
            return HTMLResponse(desk_html.case(view, token=token), headers=_PAGE_HEADERS)

        @router.post("/cases/{case_id}/notes", **_one_text_form("text", 4000))
        async def add_note(case_id: str, request: Request) -> RedirectResponse:
            principal, text, token = await self._text(request, Action.ADD_NOTE, "text", 4000)
            await self._acted(principal, Action.ADD_NOTE, case_id, workflow.add_note(case_id, principal, text=text))
            return _to_case(case_id, token)

        @router.post("/cases/{case_id}/close", **_one_text_form("reason", 2000))
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
