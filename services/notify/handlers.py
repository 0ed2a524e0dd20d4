"""Notify's subscribers, routes and background sweepers: a few lines each, the work is in ``service``."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends
from fastapi import Path as Path_
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from services.notify import aangifte
from services.notify.errors import NotificationNotFound, WrongRecipient
from services.notify.service import NotifyService
from services.notify.store import NotifyStore
from shared.audit import AuditLog
from shared.auth import Principal, forbidden
from shared.cadence import Cadence
from shared.contracts.aangifte import Aangifte
from shared.contracts.events import (
    CaseErased,
    CaseFollowup,
    CaseTriaged,
    IncidentReported,
    NotificationAck,
    NotificationStatus,
)
from shared.contracts.notifications import RECIPIENT_MODELS
from shared.contracts.topics import (
    CASE_ERASED,
    CASE_FOLLOWUP,
    CASE_TRIAGED,
    CASE_TRIAGED_URGENT,
    INCIDENT_REPORTED,
    INCIDENT_URGENT,
    NOTIFICATION_ACK,
    NOTIFICATION_STATUS,
    Recipient,
    notify_topic,
)
from shared.guard import require
from shared.http import Problem
from shared.policy import Action, NotificationAccess, decide
from shared.runtime import Runtime

NotificationId = Annotated[str, Path_(pattern=r"^[A-Za-z0-9_-]{1,64}$")]

log = structlog.get_logger("weerbaar.notify")


class AckRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    acknowledged_by: str = Field(min_length=1, max_length=200, description="Organisation or desk, not a name")
    recipient: Recipient | None = None


class NotificationView(BaseModel):
    """A notification's delivery state; no personal data."""

    notification_id: str
    case_id: str
    recipient: Recipient
    level: str
    state: str
    acknowledged: bool
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    resend_no: int
    due_at: datetime | None = None
    webhook_state: str | None = None
    deliveries: list[dict[str, Any]] = []


def _view(doc: dict[str, Any], deliveries: list[dict[str, Any]]) -> NotificationView:
    return NotificationView(
        notification_id=doc["_id"],
        case_id=doc["case_id"],
        recipient=Recipient(doc["recipient"]),
        level=doc["level"],
        state=doc["state"],
        acknowledged=bool(doc.get("acknowledged")),
        acknowledged_by=doc.get("acknowledged_by"),
        acknowledged_at=doc.get("acknowledged_at"),
        resend_no=int(doc.get("resend_no", 0)),
        due_at=doc.get("due_at"),
        webhook_state=(doc.get("webhook") or {}).get("state"),
        deliveries=[{k: v for k, v in d.items() if k != "url"} for d in deliveries],
    )


class NotifyHandlers:
    def __init__(self, runtime: Runtime, store: NotifyStore, service: NotifyService, *, audit: AuditLog) -> None:
        self._runtime = runtime
        self._store = store
        self._service = service
        self._audit = audit

    async def _authorised(self, principal: Principal, action: Action, notification_id: str) -> dict[str, Any]:
        doc = await self._store.notification(notification_id)
        if doc is None:
            raise Problem(404, "Notification not found", code="notification_not_found")
        decision = decide(principal, action, NotificationAccess(recipient=str(doc["recipient"])))
        if not decision:
            await self._audit.record(principal, action.value, case_id=str(doc["case_id"]), outcome="denied")
            raise forbidden(decision.reason)
        return doc

    def register(self) -> None:
        for recipient in Recipient:
            model = RECIPIENT_MODELS[recipient]
            self._runtime.produces(notify_topic(recipient), model, f"What {recipient.value} may see of a case")
        self._runtime.produces(NOTIFICATION_STATUS, NotificationStatus, "Delivery and acknowledgement state")
        self._runtime.consume(INCIDENT_URGENT, IncidentReported, self.on_incident_reported)
        self._runtime.consume(CASE_TRIAGED_URGENT, CaseTriaged, self.on_acute_case_triaged)
        self._runtime.consume(INCIDENT_REPORTED, IncidentReported, self.on_incident_reported)
        self._runtime.consume(CASE_TRIAGED, CaseTriaged, self.on_case_triaged)
        self._runtime.consume(NOTIFICATION_ACK, NotificationAck, self.on_notification_ack)
        self._runtime.consume(CASE_FOLLOWUP, CaseFollowup, self.on_case_followup)
        self._runtime.consume(CASE_ERASED, CaseErased, self.on_case_erased)

    async def on_case_erased(self, event: CaseErased) -> None:
        await self._service.forget_case(event.case_id)

    async def on_incident_reported(self, event: IncidentReported) -> None:
        await self._store.remember_report(event.case_id, event.report_id, event.report)

    async def on_case_triaged(self, event: CaseTriaged) -> None:
        await self._service.notify_case(event)

    async def on_acute_case_triaged(self, event: CaseTriaged) -> None:
        await self._service.notify_case(event, acute=True)

    async def on_notification_ack(self, event: NotificationAck) -> None:
        await self._service.acknowledge(event.notification_id, recipient=event.recipient, by=event.acknowledged_by)

    async def on_case_followup(self, event: CaseFollowup) -> None:
        await self._service.record_followup(event.case_id, event_id=event.event_id, kind=event.kind.value)

    def sweeper(
        self, name: str, interval_s: float, work: Callable[[], Awaitable[int]]
    ) -> Callable[[], Awaitable[None]]:
        """A background hook that runs ``work`` every ``interval_s`` (longer when a run is slow) until cancelled."""
        cadence = Cadence(interval_s, gate=self._runtime.gate)  # sweeps scan whole collections: not during acute work

        async def sweep() -> None:
            while True:
                try:
                    await cadence.timed(work)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - a failed sweep is retried next round
                    log.warning("sweep_failed", sweeper=name, error=type(exc).__name__)
                await cadence.pause()

        sweep.__name__ = name
        return sweep

    def router(self) -> APIRouter:
        router = APIRouter(prefix="/v1", tags=["notifications"])

        @router.get("/notifications/{notification_id}", responses={401: {}, 403: {}, 404: {}})
        async def get_notification(
            notification_id: NotificationId,
            principal: Annotated[Principal, Depends(require(Action.READ_NOTIFICATION))],
        ) -> NotificationView:
            """Delivery state of a notification (the recipient's own role, or admin)."""
            doc = await self._authorised(principal, Action.READ_NOTIFICATION, notification_id)
            return _view(doc, await self._store.delivery_log(notification_id))

        @router.post("/notifications/{notification_id}/ack", responses={401: {}, 403: {}, 404: {}, 409: {}})
        async def acknowledge(
            notification_id: NotificationId,
            body: AckRequest,
            principal: Annotated[Principal, Depends(require(Action.ACK_NOTIFICATION))],
        ) -> dict[str, Any]:
            """Acknowledge receipt (the recipient's own role, or admin)."""
            doc = await self._authorised(principal, Action.ACK_NOTIFICATION, notification_id)
            await self._audit.record(principal, Action.ACK_NOTIFICATION.value, case_id=str(doc["case_id"]))
            try:
                doc, changed = await self._service.acknowledge(
                    notification_id, recipient=body.recipient, by=body.acknowledged_by
                )
            except NotificationNotFound as exc:
                raise Problem(404, "Notification not found", str(exc), code=exc.code) from exc
            except WrongRecipient as exc:
                raise Problem(409, "Wrong recipient", str(exc), code=exc.code) from exc
            return {
                "notification_id": notification_id,
                "state": doc["state"],
                "acknowledged_at": doc.get("acknowledged_at"),
                "changed": changed,
            }

        @router.get(
            "/notifications/{notification_id}/aangifte.html",
            response_class=HTMLResponse,
            responses={401: {}, 403: {}, 404: {}},
        )
        async def aangifte_html(
            notification_id: NotificationId,
            principal: Annotated[Principal, Depends(require(Action.READ_AANGIFTE))],
        ) -> HTMLResponse:
            """The pre-filled modelaangifte (police, OM; admin with break-glass). Audited: it is case content."""
            doc = await self._authorised(principal, Action.READ_AANGIFTE, notification_id)
            found = (doc.get("payload") or {}).get("aangifte")
            if found is None:
                raise Problem(404, "No aangifte for this notification", code="aangifte_not_found")
            await self._audit.record(principal, Action.READ_AANGIFTE.value, case_id=str(doc["case_id"]))
            rendered = aangifte.render_html(
                Aangifte.model_validate(found), case_id=doc["case_id"], notification_id=notification_id
            )
            return HTMLResponse(rendered, headers={"Cache-Control": "no-store"})

        @router.get("/followups/overdue", responses={401: {}, 403: {}})
        async def overdue_followups(
            _: Annotated[Principal, Depends(require(Action.READ_OVERDUE_FOLLOWUPS))],
        ) -> dict[str, Any]:
            """Cases with an aangifte and no follow-up in time (police, OM, admin)."""
            cases = await self._store.overdue_followups()
            return {
                "cases": [
                    {
                        "case_id": c["_id"],
                        "level": c.get("level"),
                        "police_notification_id": c.get("police_notification_id"),
                        "followup_due_at": c.get("followup_due_at"),
                        "flagged_at": c.get("followup_overdue_at"),
                    }
                    for c in cases
                ]
            }

        return router
