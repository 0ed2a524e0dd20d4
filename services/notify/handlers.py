"""Notify's subscribers and routes: a few lines each, the work is in ``service``."""

from __future__ import annotations

import functools
import operator
from datetime import datetime
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends
from fastapi import Path as Path_
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from services.notify import aangifte
from services.notify.acute import AcuteLane
from services.notify.errors import NotificationNotFound, WrongRecipient
from services.notify.mail import Mail
from services.notify.model import Delivery, SentNotification, vouched_ack
from services.notify.service import NotifyService
from services.notify.store import NotifyStore, OverdueFollowup
from shared.contracts.events import (
    CaseErased,
    CaseFollowup,
    CaseTriaged,
    IncidentReported,
    NotificationAck,
    NotificationStatus,
    PoliceNotification,
)
from shared.contracts.notifications import RECIPIENT_MODELS, BurgemeesterNotification, wire_model
from shared.contracts.topics import (
    BURGEMEESTER_ACK_PATTERN,
    CASE_ERASED,
    CASE_FOLLOWUP,
    CASE_STAGE,
    CASE_TRIAGED,
    CASE_TRIAGED_URGENT,
    INCIDENT_REPORTED,
    INCIDENT_URGENT,
    NOTIFICATION_ACK,
    NOTIFICATION_STATUS,
    RECIPIENT_ACK_TOPICS,
    Recipient,
)
from shared.contracts.workflow import CaseStageChanged
from shared.runtime.service import Runtime
from shared.web.audit import AuditLog
from shared.web.auth import Principal, forbidden
from shared.web.guard import require
from shared.web.http import Problem, problem_responses
from shared.web.policy import Action, NotificationAccess, decide

RecipientNotification: Any = functools.reduce(operator.or_, RECIPIENT_MODELS.values())
"""What ``GET /v1/notifications/{id}/details`` answers: the recipient's own model (one of ``RECIPIENT_MODELS``)."""

NotificationId = Annotated[str, Path_(pattern=r"^[A-Za-z0-9_-]{1,64}$")]

log = structlog.get_logger("weerbaar.notify")


class AckRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    acknowledged_by: str = Field(min_length=1, max_length=200, description="Organisation or desk, not a name")
    recipient: Recipient | None = None


class EmailView(BaseModel):
    """An e-mail of a notification: its delivery, not its address."""

    subject: str
    state: str
    attempt: int
    delivered_at: datetime | None = None
    failed_at: datetime | None = None
    error: str = ""

    @classmethod
    def of(cls, mail: Mail) -> EmailView:
        return cls(
            subject=mail.subject,
            state=mail.state.value,
            attempt=mail.attempt,
            delivered_at=mail.delivered_at,
            failed_at=mail.failed_at,
            error=mail.error,
        )


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
    deliveries: list[Delivery] = []
    emails: list[EmailView] = []

    @classmethod
    def of(
        cls, notification: SentNotification, deliveries: list[Delivery], emails: list[Mail] | None = None
    ) -> NotificationView:
        return cls(
            notification_id=notification.notification_id,
            case_id=notification.case_id,
            recipient=notification.recipient,
            level=notification.level.value,
            state=notification.state.value,
            acknowledged=notification.acknowledged,
            acknowledged_by=notification.acknowledged_by,
            acknowledged_at=notification.acknowledged_at,
            resend_no=notification.resend_no,
            due_at=notification.due_at,
            webhook_state=notification.webhook.state.value if notification.webhook else None,
            deliveries=deliveries,
            emails=[EmailView.of(m) for m in emails or ()],
        )


class AckView(BaseModel):
    notification_id: str
    state: str
    acknowledged_at: datetime | None
    changed: bool


class OverdueList(BaseModel):
    cases: list[OverdueFollowup]


_NOT_FOUND = problem_responses(404, e404="No such notification")


class NotifyHandlers:
    def __init__(
        self, runtime: Runtime, store: NotifyStore, service: NotifyService, acute: AcuteLane, *, audit: AuditLog
    ) -> None:
        self._runtime = runtime
        self._store = store
        self._service = service
        self._acute = acute
        self._audit = audit

    async def _authorised(self, principal: Principal, action: Action, notification_id: str) -> SentNotification:
        notification = await self._store.peek_notification(notification_id)
        if notification is None:
            raise Problem(404, "Notification not found", code="notification_not_found")
        payload = notification.payload
        municipality = payload.municipality if isinstance(payload, BurgemeesterNotification) else None
        access = NotificationAccess(recipient=notification.recipient.value, municipality=municipality)
        decision = decide(principal, action, access)
        if not decision:
            await self._audit.record(principal, action.value, case_id=notification.case_id, outcome="denied")
            raise forbidden(decision.reason)
        return notification

    def register(self) -> None:
        for recipient in Recipient:
            model = RECIPIENT_MODELS[recipient]
            wire = wire_model(model)
            what = f"What {recipient.value} may see of a case"
            if wire is not model:
                what = f"A notification for {recipient.value}; read it whole at its `details` path (no personal data)"
            self._runtime.produces(model.topic, wire, what)
        self._runtime.produces(NOTIFICATION_STATUS, NotificationStatus, "Delivery and acknowledgement state")
        service = self._service
        consume = self._runtime.consume
        # One acute consumer for both urgent topics: a case's urgent report and decision arrive together (or the report
        # in an earlier batch), so the decision never waits for another consumer to have stored the report.
        self._runtime.consume(
            INCIDENT_URGENT,
            IncidentReported,
            self._acute.remember_report,
            per_case=self._acute.take_case,
            also={CASE_TRIAGED_URGENT: (CaseTriaged, self._acute.notify)},
            name="acute",
        )
        consume(INCIDENT_REPORTED, IncidentReported, self.on_incident_reported, per_case=service.remember_reports)
        consume(CASE_TRIAGED, CaseTriaged, self.on_case_triaged, per_case=service.notify)
        # Acknowledgements: each recipient on a topic only its principal may write, the topic vouching for who it is
        # (``vouched_ack``); the operator's shared topic as before (its group keeps its name, so its offsets).
        acks = (NotificationAck, self.on_notification_ack)
        consume(
            NOTIFICATION_ACK,
            NotificationAck,
            self.on_notification_ack,
            per_case=service.apply_acks,
            also=dict.fromkeys(RECIPIENT_ACK_TOPICS, acks),
            name=NOTIFICATION_ACK.removeprefix("weerbaar."),
            admit=vouched_ack,
        )
        consume(
            BURGEMEESTER_ACK_PATTERN,
            NotificationAck,
            self.on_notification_ack,
            per_case=service.apply_acks,
            name="acks-burgemeester",
            admit=vouched_ack,
            pattern=True,
        )
        consume(CASE_FOLLOWUP, CaseFollowup, self.on_case_followup, per_case=service.record_followups)
        consume(CASE_ERASED, CaseErased, self.on_case_erased)
        consume(CASE_STAGE, CaseStageChanged, self.on_case_stage, per_case=service.tell_reporters)

    async def on_incident_reported(self, event: IncidentReported) -> None:
        await self._service.remember_reports(event.case_id, [event])

    async def on_case_triaged(self, event: CaseTriaged) -> None:
        await self._service.notify(event.case_id, [event])

    async def on_notification_ack(self, event: NotificationAck) -> None:
        await self._service.apply_acks(event.case_id, [event])

    async def on_case_followup(self, event: CaseFollowup) -> None:
        await self._service.record_followups(event.case_id, [event])

    async def on_case_erased(self, event: CaseErased) -> None:
        await self._service.forget_case(event.case_id, event.report_ids)

    async def on_case_stage(self, event: CaseStageChanged) -> None:
        await self._service.tell_reporters(event.case_id, [event])

    def router(self) -> APIRouter:
        router = APIRouter(prefix="/v1", tags=["notifications"])

        @router.get("/notifications/{notification_id}", responses=_NOT_FOUND)
        async def get_notification(
            notification_id: NotificationId,
            principal: Annotated[Principal, Depends(require(Action.READ_NOTIFICATION))],
        ) -> NotificationView:
            """Delivery state of a notification (the recipient's own role, or admin)."""
            notification = await self._authorised(principal, Action.READ_NOTIFICATION, notification_id)
            deliveries = await self._store.delivery_log(notification_id)
            return NotificationView.of(notification, deliveries, await self._store.mails_of(notification_id))

        @router.post(
            "/notifications/{notification_id}/ack",
            responses=problem_responses(404, 409, e404="No such notification", e409="For another recipient"),
        )
        async def acknowledge(
            notification_id: NotificationId,
            body: AckRequest,
            principal: Annotated[Principal, Depends(require(Action.ACK_NOTIFICATION))],
        ) -> AckView:
            """Acknowledge receipt (the recipient's own role, or admin)."""
            found = await self._authorised(principal, Action.ACK_NOTIFICATION, notification_id)
            await self._audit.record(principal, Action.ACK_NOTIFICATION.value, case_id=found.case_id)
            try:
                notification, changed = await self._service.acknowledge(
                    notification_id, recipient=body.recipient, by=body.acknowledged_by
                )
            except NotificationNotFound as exc:
                raise Problem(404, "Notification not found", str(exc), code=exc.code) from exc
            except WrongRecipient as exc:
                raise Problem(409, "Wrong recipient", str(exc), code=exc.code) from exc
            return AckView(
                notification_id=notification_id,
                state=notification.state.value,
                acknowledged_at=notification.acknowledged_at,
                changed=changed,
            )

        @router.get(
            "/notifications/{notification_id}/aangifte.html",
            response_class=HTMLResponse,
            responses=problem_responses(404, e404="No such notification, or it has no aangifte"),
        )
        async def aangifte_html(
            notification_id: NotificationId,
            principal: Annotated[Principal, Depends(require(Action.READ_AANGIFTE))],
        ) -> HTMLResponse:
            """The pre-filled modelaangifte (police, OM; admin with break-glass). Audited: it is case content."""
            notification = await self._authorised(principal, Action.READ_AANGIFTE, notification_id)
            payload = notification.payload
            found = payload.aangifte if isinstance(payload, PoliceNotification) else None
            if found is None:
                raise Problem(404, "No aangifte for this notification", code="aangifte_not_found")
            await self._audit.record(principal, Action.READ_AANGIFTE.value, case_id=notification.case_id)
            rendered = aangifte.render_html(found, case_id=notification.case_id, notification_id=notification_id)
            return HTMLResponse(rendered, headers={"Cache-Control": "no-store"})

        @router.get(
            "/notifications/{notification_id}/details",
            response_model=RecipientNotification,
            responses=problem_responses(
                404, 410, e404="No such notification", e410="The case was erased: its notifications are gone"
            ),
        )
        async def notification_details(
            notification_id: NotificationId,
            principal: Annotated[Principal, Depends(require(Action.READ_NOTIFICATION_DETAILS))],
        ) -> JSONResponse:
            """The whole notification as its recipient may see it: its topic carries only a notice of it, so that no
            personal data waits in the Kafka log (the recipient's own role; admin with break-glass). Audited."""
            notification = await self._authorised(principal, Action.READ_NOTIFICATION_DETAILS, notification_id)
            if notification.payload is None:
                raise Problem(410, "The case was erased", code="notification_erased")
            await self._audit.record(principal, Action.READ_NOTIFICATION_DETAILS.value, case_id=notification.case_id)
            body = notification.payload.model_dump(mode="json")
            return JSONResponse(body, headers={"Cache-Control": "no-store"})

        @router.get("/followups/overdue")
        async def overdue_followups(
            _: Annotated[Principal, Depends(require(Action.READ_OVERDUE_FOLLOWUPS))],
        ) -> OverdueList:
            """Cases with an aangifte and no follow-up in time (police, OM, admin)."""
            return OverdueList(cases=await self._store.overdue_followups())

        return router
