"""Notify's use cases: remember reports, notify decisions, take acknowledgements and follow-ups, forget erased
cases, and the timers (re-send and escalate silence, flag a missing follow-up). Each takes all of a case's events of
a batch at once: its aggregate loaded once (usually from memory), changed, saved once, then its events published.

Consumers publish what they derive before their input records are committed: a crash in between redelivers the
records, and the same events are derived again (deterministic ids; notifications sent again as they were stored).
An HTTP acknowledgement or a timer has no input record, so its events wait in the aggregate's outbox, written with
the state change that caused them (``sending.Outboxes``). The timers' ``due_*`` queries read whole collections on
FerretDB, so they run as routine periodic work (``Runtime.every``) with a bounded share of the store's time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

import structlog

from services.notify import domain, mail
from services.notify.errors import CaseDetailsNotYetKnown
from services.notify.model import CaseNotifications, NotifyPolicy, Outgoing, SentNotification
from services.notify.ports import Repository
from services.notify.sending import Outboxes, Sender
from services.notify.settings import Settings
from shared.contracts.events import (
    CaseFollowup,
    CaseTriaged,
    IncidentReported,
    Notification,
    NotificationAck,
    utcnow,
)
from shared.contracts.topics import Recipient
from shared.contracts.workflow import CaseStageChanged
from shared.messaging.lanes import taking_turns
from shared.runtime import metrics
from shared.security.case_keys import Opener, PlainReports

log = structlog.get_logger("weerbaar.notify")

Clock = Callable[[], datetime]

REPORT_WAIT_S = 30.0
"""How long a change of stage waits for its case's report (it is on its way: intake published both together). A
change older than this whose case notify never saw belongs to a log read again (another store, a reset group), not
to a report still coming: it is let go instead of stalling the consumer."""


def policy_of(settings: Settings) -> NotifyPolicy:
    return NotifyPolicy(
        escalate_levels=settings.escalate_levels,
        ack_timeout_s=settings.ack_timeout_s,
        ack_max_resends=settings.ack_max_resends,
        followup_deadline_s=settings.followup_deadline_s,
        webhook_urls=dict(settings.webhook_urls),
        email_addresses={key: str(address) for key, address in settings.email_recipients.items()},
        links=mail.Links(settings.public_intake_url, settings.public_notify_url) if settings.smtp_host else None,
    )


def millis(clock: Clock) -> Clock:
    """The clock in whole milliseconds, as the store keeps times: a time derived again after a reload (a
    redelivered decision's ``occurred``) must equal the one first sent."""

    def now() -> datetime:
        at = clock()
        return at.replace(microsecond=at.microsecond - at.microsecond % 1000)

    return now


class NotifyService:
    def __init__(
        self,
        store: Repository,
        sender: Sender,
        outboxes: Outboxes,
        policy: NotifyPolicy,
        *,
        clock: Clock = utcnow,
        opener: Opener | None = None,
    ) -> None:
        self._opener: Opener = opener or PlainReports()
        self._store = store
        self._sender = sender
        self._outboxes = outboxes
        self._policy = policy
        self._now = millis(clock)

    async def remember_reports(self, case_id: str, reports: Sequence[IncidentReported]) -> None:
        """Keep the case's first report: every notification of the case is projected from it.

        A report most often opens its case: then it is one insert, with no read before it. Reports sealed with their
        case's key are opened here (kept sealed with the data key like everything notify stores); those of an erased
        case (key destroyed) are left out.
        """
        reports = await self._opener.opened(reports)
        if not reports:
            return
        new = CaseNotifications(case_id=case_id)
        for reported in reports:
            new.remember_report(reported.plain_report, reported.report_id)
        if await self._store.add_case(new):
            return
        async with self._store.case(case_id) as case:
            for reported in reports:
                case.remember_report(reported.plain_report, reported.report_id)

    async def notify(
        self,
        case_id: str,
        decisions: Sequence[CaseTriaged],
        *,
        at: datetime | None = None,
        stored: frozenset[str] = frozenset(),
    ) -> None:
        """Notify every routed recipient of each decision: one load of the case, one bulk insert, then publish.

        A decision notified before (redelivered, or its copy from the other lane) finds its notifications stored
        (deterministic ids) and sends them again as stored, not new ones. The case itself is written only when its
        follow-up clock starts. ``at`` and ``stored``: the time and ids the acute lane (``acute.py``) used for the
        police.
        """
        # Nobody to tell: no need to wait for the report either. An erased case's copy (``of_erased_case``) was told
        # before, and its erasure is on its way: nothing is sent again.
        decisions = [d for d in decisions if d.routes and not d.of_erased_case]
        if not decisions:
            return
        now = at or self._now()
        async with self._store.case(case_id) as case:
            made = {n.notification_id: n for d in decisions for n in case.notify(d, now=now, policy=self._policy)}
            new = [
                n
                for nid, n in made.items()
                if nid not in stored and not self._sender.published(n.first_sending())  # sent (so stored) before
            ]
            existed = await self._store.create(new)
            for nid in existed:  # stored before: send them as they were stored (their own times)
                made[nid] = await self._store.peek_notification(nid) or made[nid]
            _log_created(case, decisions, [n for n in new if n.notification_id not in existed])
            # Under the case's lock: the other lane's copy of a decision, waiting for it, then finds it all sent.
            await self._sender.send([out for n in made.values() for out in n.first_sending()])
            await self._mail([n.payload for n in made.values() if n.payload is not None], at=now)

    async def _mail(self, notifications: Iterable[Notification], *, at: datetime) -> None:
        """The notifications of recipients told by e-mail, queued for the relay (``mailing``); idempotent."""
        links, addresses = self._policy.links, self._policy.email_addresses
        if links is None or not addresses:
            return
        mails = [
            mail.for_recipient(n, to=to, links=links, at=at)
            for n in notifications
            if (to := mail.address_for(n, addresses)) is not None
        ]
        await self._store.create_mails(mails)

    async def tell_reporters(self, case_id: str, changes: Sequence[CaseStageChanged]) -> None:
        """The stage of a case changed: an e-mail to each filer of it who consented at intake (their address is
        kept here, from their report), holding only the link to their own case page."""
        links = self._policy.links
        if links is None:
            log.info("reporter_mail_skipped_no_relay", case_id=case_id)
            return
        case = await self._store.peek_case(case_id)
        now = self._now()
        if case is None:
            if all((now - change.occurred).total_seconds() > REPORT_WAIT_S for change in changes):
                log.warning("stage_change_of_unknown_case", case_id=case_id)
                return
            raise CaseDetailsNotYetKnown(f"no report stored yet for case {case_id}")
        mails = [
            mail.for_reporter(case_id, to=to, stage_event_id=change.event_id, report_id=rid, links=links, at=now)
            for change in changes
            for rid in change.report_ids
            if (to := case.contacts.get(rid)) is not None
        ]
        await self._store.create_mails(mails)
        log.info("reporter_mails_queued", case_id=case_id, count=len(mails))

    async def apply_acks(self, case_id: str, acks: Sequence[NotificationAck]) -> None:
        """Acknowledgements from the topic: each notification loaded and saved once, its status published."""
        out: list[Outgoing] = []
        by_notification: dict[str, list[NotificationAck]] = {}
        for ack in acks:
            by_notification.setdefault(ack.notification_id, []).append(ack)
        for notification_id, mine in by_notification.items():
            async with self._store.notification(notification_id) as notification:
                for ack in mine:
                    changed, events = notification.acknowledge(
                        by=ack.acknowledged_by, at=self._now(), recipient=ack.recipient, municipality=ack.municipality
                    )
                    out += events
                    if changed:
                        log.info("notification_acknowledged", recipient=notification.recipient.value)
        await self._sender.send(out)

    async def acknowledge(
        self, notification_id: str, *, recipient: Recipient | None, by: str
    ) -> tuple[SentNotification, bool]:
        """An acknowledgement over HTTP (idempotent): the notification as it stands, and whether this changed it."""
        async with self._store.notification(notification_id) as notification:
            changed, events = notification.acknowledge(by=by, at=self._now(), recipient=recipient)
            if changed:
                notification.outbox += self._sender.records(events)
        if changed:
            log.info("notification_acknowledged", recipient=notification.recipient.value, case_id=notification.case_id)
            await self._outboxes.flush_quietly(notification_id=notification_id)
        return notification, changed

    async def record_followups(self, case_id: str, followups: Sequence[CaseFollowup]) -> None:
        async with self._store.case(case_id) as case:
            for followup in followups:
                case.record_followup(followup.kind)
        log.info("followup_recorded", case_id=case_id, kinds=[f.kind.value for f in followups])

    async def forget_case(self, case_id: str, report_ids: tuple[str, ...] = ()) -> None:
        """The case (or some of its reports) was erased at intake: drop this service's copy of its personal data.

        ``report_ids``: a filer erased only these; the copy goes when it was made from one of them (the
        notifications were projected from that report), and stays when it came from another filer's report.
        Under the case's lock, so a decision being notified either finished before (and is erased here) or finds
        the case erased and sends nothing.
        """
        self._opener.forget(case_id)
        async with self._store.case(case_id) as case:
            dropped = case.forget_contacts(report_ids)
            whole = case.holds_any(report_ids)
            notifications: list[str] = []
            if whole:
                case.erase()
                notifications = await self._store.notification_ids_of(case_id)
                for notification_id in notifications:
                    async with self._store.notification(notification_id) as notification:
                        notification.erase()
            if whole or dropped:
                for mail_id in await self._store.mail_ids_of(case_id):
                    async with self._store.mail(mail_id) as queued:
                        if whole or queued.to in dropped:
                            queued.erase()
        if whole:
            log.info("case_forgotten", case_id=case_id, notifications=len(notifications))

    # --- timers: no input record, so their events go through the outbox ----------------------------------------
    async def escalate_due(self, limit: int = 100) -> int:
        """Re-send and escalate every notification whose acknowledgement is overdue; returns how many."""
        fired = 0
        async for notification_id in taking_turns(await self._store.due_for_ack(self._now(), limit)):
            async with self._store.notification(notification_id) as notification:
                events = notification.escalate(self._now(), self._policy)
                notification.outbox += self._sender.records(events)
            if events:
                fired += 1
                if notification.payload is not None:  # a reminder to whoever is told by e-mail
                    await self._mail([domain.resent(notification.payload, notification.resend_no)], at=self._now())
                if notification.due_at is None:  # the last re-send: nobody chases it any more
                    metrics.ESCALATIONS_EXHAUSTED.labels(notification.recipient.value, notification.level.value).inc()
                log.warning(
                    "notification_escalated",
                    recipient=notification.recipient.value,
                    resend_no=notification.resend_no,
                    last=notification.due_at is None,
                )
                await self._outboxes.flush_quietly(notification_id=notification_id)
        return fired

    async def flag_overdue_followups(self, limit: int = 100) -> int:
        """Flag cases with an aangifte and no follow-up in time; the police notification's status says so."""
        flagged = 0
        async for case_id in taking_turns(await self._store.due_followups(self._now(), limit)):
            async with self._store.case(case_id) as case:
                events = case.flag_followup_overdue(self._now())
                case.outbox += self._sender.records(events)
            if events:
                flagged += 1
                log.warning("followup_overdue", case_id=case_id)
                await self._outboxes.flush_quietly(case_id=case_id)
        return flagged


def _log_created(case: CaseNotifications, decisions: Sequence[CaseTriaged], created: list[SentNotification]) -> None:
    if case.erased:
        log.info("notification_skipped_erased_case", case_id=case.case_id)
    elif created:
        log.info(
            "notifications_created",
            assessments=sorted({n.assessment_no for n in created}),
            level=decisions[-1].level.value,
            recipients=[n.recipient.value for n in created],
        )
