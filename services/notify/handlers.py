"""Notify's subscribers: remember reports, turn triage decisions into per-recipient notifications."""

from __future__ import annotations

import structlog

from services.notify import domain
from services.notify.errors import CaseDetailsNotYetKnown
from services.notify.store import NotifyStore
from shared.contracts.events import (
    CaseTriaged,
    IncidentReported,
    Notification,
    NotificationState,
    NotificationStatus,
    PoliceNotification,
)
from shared.contracts.topics import CASE_TRIAGED, INCIDENT_REPORTED, NOTIFICATION_STATUS, Recipient, notify_topic
from shared.outbox import outbox_entry
from shared.runtime import Runtime

log = structlog.get_logger("weerbaar.notify")


class NotifyHandlers:
    def __init__(self, runtime: Runtime, store: NotifyStore) -> None:
        self._runtime = runtime
        self._store = store
        self._source = f"/weerbaar/{runtime.service}"

    def register(self) -> None:
        for recipient in Recipient:
            model = PoliceNotification if recipient is Recipient.POLICE else Notification
            self._runtime.produces(notify_topic(recipient), model, f"What {recipient.value} may see of a case")
        self._runtime.produces(NOTIFICATION_STATUS, NotificationStatus, "Delivery and acknowledgement state")
        self._runtime.consume(INCIDENT_REPORTED, IncidentReported, self.on_incident_reported)
        self._runtime.consume(CASE_TRIAGED, CaseTriaged, self.on_case_triaged)

    async def on_incident_reported(self, event: IncidentReported) -> None:
        await self._store.remember_report(event.case_id, event.report_id, event.report)

    async def on_case_triaged(self, event: CaseTriaged) -> None:
        report = await self._store.report_of(event.case_id)
        if report is None:
            raise CaseDetailsNotYetKnown(f"no report stored yet for case {event.case_id}")
        for route in event.routes:
            notification = domain.project(event, report, route.recipient, route.reason)
            status = NotificationStatus(
                case_id=event.case_id,
                notification_id=notification.notification_id,
                recipient=route.recipient,
                status=NotificationState.SENT,
                level=event.level,
            )
            created = await self._store.create_notification(
                {
                    "_id": notification.notification_id,
                    "case_id": event.case_id,
                    "recipient": route.recipient.value,
                    "level": event.level.value,
                    "assessment_no": event.assessment_no,
                    "state": NotificationState.SENT.value,
                    "outbox": [
                        outbox_entry(notification, source=self._source, topic=notify_topic(route.recipient)),
                        outbox_entry(status, source=self._source),
                    ],
                }
            )
            if created:
                log.info("notification_created", recipient=route.recipient.value, level=event.level.value)
            await self._runtime.outbox.flush(self._store.notifications, notification.notification_id)
