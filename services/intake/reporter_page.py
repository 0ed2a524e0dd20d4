"""The reporter's own case as a page (``/reporter/cases/{id}``): the filer's view of ``GET /v1/cases/{id}``.

Server-rendered, no script, no build step; a browser opens it with ``?access_token=`` (RFC 6750 §2.3, pages only)
or the ``Authorization`` header. Authorised like the JSON view (the case read), and only for the one who filed the
case, who sees the filer's view of their own reports (an OTWB desk that filed on behalf too, though the API shows it
the OTWB's routed view); anyone else (a routed party, an admin) is refused and reads the case over the API or desk.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi import Path as Path_
from fastapi.responses import HTMLResponse

from services.intake import reporter_html
from services.intake.errors import CaseNotFound
from services.intake.store import CaseRepository
from services.intake.views import case_access, filer_view
from shared.web.audit import AuditLog
from shared.web.auth import Principal, forbidden
from shared.web.guard import require
from shared.web.http import Problem
from shared.web.need_to_know import case_sight
from shared.web.policy import Action

_PAGE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
CaseId = Annotated[str, Path_(pattern=r"^[A-Za-z0-9_-]{8,64}$")]


class ReporterPage:
    def __init__(self, store: CaseRepository, *, audit: AuditLog) -> None:
        self._store = store
        self._audit = audit

    def router(self) -> APIRouter:
        router = APIRouter(prefix="/reporter", tags=["reporter"])

        @router.get("/cases/{case_id}", response_class=HTMLResponse)
        async def own_case(
            case_id: CaseId, principal: Annotated[Principal, Depends(require(Action.READ_OWN_CASE, page=True))]
        ) -> HTMLResponse:
            """The filer's own case as a page: its stage, what happens next, the help that fits, the filer's reports
            and modelaangifte. Only for the one who filed it (the filer's view of `GET /v1/cases/{id}`). Audited."""
            case = await self._store.get(case_id)
            if case is None or not case.opened:
                raise Problem(404, "Case not found", f"no case {case_id}", code=CaseNotFound.code)
            access = case_access(case)
            sight = case_sight(principal, access)
            if not sight or principal.sub not in access.filed_by_subs:
                await self._audit.record(principal, Action.READ_CASE.value, case_id=case_id, outcome="denied")
                raise forbidden(
                    sight.decision.reason if not sight else "this page shows a case to the one who filed it"
                )
            await self._audit.record(principal, Action.READ_CASE.value, case_id=case_id)
            view = filer_view(case, self._store.codec, sub=principal.sub)
            return HTMLResponse(reporter_html.own_case(view), headers=_PAGE_HEADERS)

        return router
