"""Notify's use cases: send, acknowledge, escalate silence, flag missing follow-up. Each is one document write."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

import structlog

from services.notify import domain
from services.notify.errors import CaseDetailsNotYetKnown, NotificationNotFound, WrongRecipient
from services.notify.settings import Settings
from services.notify.store import NotifyStore
from shared.contracts.events import CaseTriaged, Notification, NotificationState, Route, utcnow
from shared.contracts.incident import IncidentReport
from shared.contracts.notifications import RECIPIENT_MODELS
from shared.contracts.topics import Recipient, notify_topic
from shared.detached import Detached
from shared.mongo import Document
from shared.outbox import outbox_entry
from shared.runtime import Runtime

log = structlog.get_logger("weerbaar.notify")

Clock = Callable[[], datetime]


def stored_notification(doc: Document) -> Notification:
    """The notification as it was first sent, from its document."""
    return RECIPIENT_MODELS[Recipient(doc["recipient"])].model_validate(doc["payload"])


class NotifyService:
    def __init__(self, runtime: Runtime, store: NotifyStore, settings: Settings, *, clock: Clock = utcnow) -> None:
        self._runtime = runtime
        self._store = store
        self._settings = settings
        self._clock = clock
        self._source = f"/weerbaar/{runtime.service}"
        # left to the decision's copy on the main topic when they fail: it creates whatever is missing
        self._behind_the_police = Detached("acute_recipients_left_to_main_lane")

    def _entry(self, event: Notification, recipient: Recipient) -> Document:
        return outbox_entry(event, source=self._source, topic=notify_topic(recipient))

    async def notify_case(self, event: CaseTriaged, *, acute: bool = False) -> None:
        """One notification per routed recipient; a redelivered decision finds them already there.

        The police first, published as soon as it is stored: for an acute case that is the end of the acute path.
        On the acute lane (``acute``) the other recipients follow in the background, so the next acute case never
        waits behind them; the decision's copy on the main topic covers a crash in between (ids are deterministic).
        """
        if not event.routes:
            return  # nobody to tell: no need to wait for the report either
        erased, report = await self._store.case_details(event.case_id)
        if erased:
            log.info("notification_skipped_erased_case", case_id=event.case_id)
            return
        if report is None:
            raise CaseDetailsNotYetKnown(f"no report stored yet for case {event.case_id}")
        now = self._clock()
        others = [route for route in event.routes if route.recipient is not Recipient.POLICE]
        for route in event.routes:
            if route.recipient is Recipient.POLICE:
                await self._notify_police(event, report, route, now)
        if acute and others:
            self._behind_the_police.start(self._notify_all(event, report, others, now))
        else:
            await self._notify_all(event, report, others, now)

    async def _notify_police(self, event: CaseTriaged, report: IncidentReport, route: Route, now: datetime) -> None:
        notification_id, outbox = await self._create(event, report, route, now)
        await self._runtime.outbox.flush(self._store.notifications, notification_id, created_with=outbox)
        if report.wants_aangifte:
            await self._store.expect_followup(
                event.case_id,
                due_at=now + timedelta(seconds=self._settings.followup_deadline_s),
                notification_id=notification_id,
                level=event.level.value,
            )

    async def _notify_all(self, event: CaseTriaged, report: IncidentReport, routes: list[Route], now: datetime) -> None:
        created = [(await self._create(event, report, route, now))[0] for route in routes]
        # Publish the outboxes concurrently (aiokafka batches them); the relay covers a crash here.
        await asyncio.gather(*(self._runtime.outbox.flush(self._store.notifications, nid) for nid in created))

    async def _create(
        self, event: CaseTriaged, report: IncidentReport, route: Route, now: datetime
    ) -> tuple[str, list[Document] | None]:
        """Store one recipient's notification with its outbox; (its id, the outbox when this call created it)."""
        notification = domain.project(event, report, route.recipient, route.reason)
        sent = domain.status(notification, NotificationState.SENT)
        needs_ack = domain.needs_ack(event.level, self._settings.escalate_levels)
        doc: Document = {
            "_id": notification.notification_id,
            "case_id": event.case_id,
            "recipient": route.recipient.value,
            "level": event.level.value,
            "assessment_no": event.assessment_no,
            "state": NotificationState.SENT.value,
            "created_at": now,
            "payload": notification.model_dump(mode="json"),
            "record": self._entry(notification, route.recipient),
            "acknowledged": False,
            "resend_no": 0,
            "due_at": now + timedelta(seconds=self._settings.ack_timeout_s) if needs_ack else None,
            "outbox": [self._entry(notification, route.recipient), outbox_entry(sent, source=self._source)],
        }
        url = self._settings.webhook_urls.get(route.recipient)
        if url:
            doc["webhook"] = {"url": url, "state": "pending", "attempt": 0, "next_at": now}
        if not await self._store.create_notification(doc):
            return notification.notification_id, None  # a redelivery: read what is still pending
        log.info("notification_created", recipient=route.recipient.value, level=event.level.value)
        return notification.notification_id, doc["outbox"]

    async def acknowledge(self, notification_id: str, *, recipient: Recipient | None, by: str) -> tuple[Document, bool]:
        """Mark acknowledged (idempotent); returns the document and whether this call changed it."""
        doc = await self._store.notification(notification_id)
        if doc is None:
            raise NotificationNotFound(f"no notification {notification_id}")
        if "payload" not in doc:
            raise NotificationNotFound(f"notification {notification_id} belongs to an erased case")
        if recipient is not None and recipient.value != doc["recipient"]:
            raise WrongRecipient(f"notification {notification_id} went to {doc['recipient']}, not {recipient.value}")
        notification = stored_notification(doc)
        acked = domain.status(notification, NotificationState.ACKNOWLEDGED, detail=f"acknowledged by {by}")
        changed = await self._store.acknowledge(
            notification_id, by=by, at=self._clock(), outbox=[outbox_entry(acked, source=self._source)]
        )
        if changed:
            log.info("notification_acknowledged", recipient=doc["recipient"], case_id=doc["case_id"])
            await self._runtime.outbox.flush_quietly(self._store.notifications, notification_id)
        return (await self._store.notification(notification_id)) or doc, changed

    async def forget_case(self, case_id: str) -> None:
        """The case was erased at intake: drop this service's copy of its personal data."""
        count = await self._store.forget_case(case_id)
        log.info("case_forgotten", case_id=case_id, notifications=count)

    async def record_followup(self, case_id: str, *, event_id: str, kind: str) -> None:
        await self._store.record_followup(case_id, event_id=event_id, kind=kind)
        log.info("followup_recorded", case_id=case_id, kind=kind)

    async def escalate_due(self, limit: int = 100) -> int:
        """Re-send and escalate every notification whose acknowledgement is overdue; returns how many."""
        fired = 0
        timeout = self._settings.ack_timeout_s
        for _ in range(limit):
            now = self._clock()
            doc = await self._store.due_for_ack(now)
            if doc is None:
                break
            resend_no = int(doc["resend_no"]) + 1
            silent = stored_notification(doc)
            recipient = Recipient(doc["recipient"])
            notices = domain.escalation_notices(
                silent, resend_no=resend_no, first_sent_at=doc["created_at"], ack_timeout_s=timeout
            )
            escalated = domain.status(
                silent,
                NotificationState.ESCALATED,
                detail=f"no acknowledgement within {timeout:g} s: re-sent (#{resend_no}), escalated to "
                + ", ".join(n.recipient.value for n in notices),
                occurrence=resend_no,
            )
            outbox = [
                self._entry(domain.resent(silent, resend_no), recipient),
                *(self._entry(notice, notice.recipient) for notice in notices),
                outbox_entry(escalated, source=self._source),
            ]
            last = resend_no >= self._settings.ack_max_resends
            next_due = None if last else now + timedelta(seconds=timeout)
            if await self._store.claim_escalation(doc, next_due=next_due, outbox=outbox):
                fired += 1
                log.warning("notification_escalated", recipient=recipient.value, resend_no=resend_no, last=last)
                await self._runtime.outbox.flush_quietly(self._store.notifications, doc["_id"])
        return fired

    async def flag_overdue_followups(self, limit: int = 100) -> int:
        """Flag cases with an aangifte and no follow-up in time; the police notification's status says so."""
        flagged = 0
        for _ in range(limit):
            now = self._clock()
            case = await self._store.due_followup(now)
            if case is None:
                break
            police = await self._store.notification(case["police_notification_id"])
            outbox = []
            if police is not None:
                overdue = domain.status(
                    stored_notification(police),
                    NotificationState.FOLLOWUP_OVERDUE,
                    detail="aangifte wanted; no follow-up from police or OM in time",
                )
                outbox.append(outbox_entry(overdue, source=self._source))
            if await self._store.claim_followup_overdue(case["_id"], now=now, outbox=outbox):
                flagged += 1
                log.warning("followup_overdue", case_id=case["_id"])
                await self._runtime.outbox.flush_quietly(self._store.cases, case["_id"])
        return flagged
