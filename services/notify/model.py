"""Notify's aggregates: a case's notifications, and each notification sent (pure: no I/O, no documents).

``CaseNotifications`` (one per case) knows the case's first report, whether it was erased and the follow-up clock of
an aangifte; its notifications are ``SentNotification``s (one per recipient and assessment, each its own document so
none grows with the case), each knowing what it sent, its acknowledgement, its re-send timer and its webhook
delivery. Methods change state and return the events they cause (``Outgoing``). A consumer publishes them before its
input record is committed, so they are never stored: notification ids are deterministic, so a redelivered decision
finds the notifications it made and sends them again as they were stored (same ids, same times). A sweep or an HTTP
request has no input record to fall back on, so its events wait in the aggregate's ``outbox``, written with the
state change that caused them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from services.notify import domain
from services.notify.errors import CaseDetailsNotYetKnown, NotificationNotFound, WrongRecipient
from services.notify.mail import Links
from shared.contracts.envelope import Record
from shared.contracts.events import (
    JUSTICE_FOLLOWUPS,
    CaseTriaged,
    Envelope,
    FollowupKind,
    Notification,
    NotificationAck,
    NotificationState,
    RiskLevel,
)
from shared.contracts.incident import IncidentReport
from shared.contracts.notifications import BurgemeesterNotification, delivery_topic, on_the_wire
from shared.contracts.topics import NOTIFICATION_STATUS, Recipient, ack_source, notify_topic


@dataclass(frozen=True, slots=True)
class NotifyPolicy:
    """The rules notify applies (from its settings)."""

    escalate_levels: frozenset[RiskLevel]
    ack_timeout_s: float
    ack_max_resends: int
    followup_deadline_s: float
    webhook_urls: Mapping[Recipient, str] = field(default_factory=dict)
    email_addresses: Mapping[str, str] = field(default_factory=dict)
    """Recipients told by e-mail (``burgemeester:GM0344``, ``ccv``): ``mail.address_for``."""
    links: Links | None = None
    """Where links in e-mails point; None: no e-mail at all (no relay configured)."""


def vouched_ack(topic: str, ack: NotificationAck) -> NotificationAck:
    """An acknowledgement as its topic vouches for it: a recipient's topic speaks for that recipient only.

    The broker lets only the recipient's principal write its topic (``topics.ack_topic``), so the topic is the
    acknowledger's identity; an acknowledgement there that names another recipient or municipality is refused
    (``WrongRecipient``: dead-lettered with the reason). On a burgemeester's topic the municipality is the topic's.
    The operator's shared topic (``NOTIFICATION_ACK``) may name any recipient, as the operator acts on their behalf.
    """
    try:
        source = ack_source(topic)
    except ValueError as exc:
        raise WrongRecipient(str(exc)) from exc
    if source is None:
        return ack
    if ack.recipient is not source.recipient:
        raise WrongRecipient(
            f"{topic} is {source.recipient.value}'s: an acknowledgement there cannot be for {ack.recipient.value}"
        )
    if source.municipality is None:
        return ack
    if ack.municipality not in (None, source.municipality):
        raise WrongRecipient(f"{topic} is {source.municipality}'s: it cannot acknowledge for {ack.municipality}")
    return ack.model_copy(update={"municipality": source.municipality})


@dataclass(frozen=True, slots=True)
class Outgoing:
    """An event an aggregate caused, and the topic it goes to."""

    event: Envelope
    topic: str


def _status(event: Envelope) -> Outgoing:
    return Outgoing(event, NOTIFICATION_STATUS)


def delivery(notification: Notification) -> Outgoing:
    """A notification on its recipient's topic: as the topic may carry it (a notice when it holds personal data)."""
    return Outgoing(on_the_wire(notification), delivery_topic(notification))


class WebhookState(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    ERASED = "erased"


@dataclass(slots=True)
class Webhook:
    """Delivery of a notification to its recipient's webhook: attempts, the next one's time, the outcome."""

    url: str
    state: WebhookState = WebhookState.PENDING
    attempt: int = 0
    next_at: datetime | None = None
    delivered_at: datetime | None = None
    failed_at: datetime | None = None


@dataclass(slots=True)
class SentNotification:
    """One recipient's notification of one assessment, and what became of it."""

    notification_id: str
    case_id: str
    recipient: Recipient
    level: RiskLevel
    assessment_no: int
    created_at: datetime
    payload: Notification | None
    """What the recipient was sent; None once the case was erased."""
    state: NotificationState = NotificationState.SENT
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    resend_no: int = 0
    due_at: datetime | None = None
    """When it is re-sent and escalated unless acknowledged before."""
    webhook: Webhook | None = None
    outbox: list[Record] = field(default_factory=list)

    @classmethod
    def send(cls, payload: Notification, *, assessment_no: int, at: datetime, policy: NotifyPolicy) -> SentNotification:
        needs_ack = domain.needs_ack(payload.level, policy.escalate_levels)
        url = policy.webhook_urls.get(payload.recipient)
        return cls(
            notification_id=payload.notification_id,
            case_id=payload.case_id,
            recipient=payload.recipient,
            level=payload.level,
            assessment_no=assessment_no,
            created_at=at,
            payload=payload,
            due_at=at + timedelta(seconds=policy.ack_timeout_s) if needs_ack else None,
            webhook=Webhook(url=url, next_at=at) if url else None,
        )

    @property
    def acknowledged(self) -> bool:
        return self.acknowledged_at is not None

    @property
    def erased(self) -> bool:
        return self.payload is None

    def sent(self) -> Notification:
        """The notification as first sent."""
        if self.payload is None:
            raise NotificationNotFound(f"notification {self.notification_id} belongs to an erased case")
        return self.payload

    def first_sending(self) -> list[Outgoing]:
        """The notification and its "sent" status: derived again, identical, whenever they must be re-published."""
        if self.payload is None:
            return []
        sent = domain.status(self.payload, NotificationState.SENT, at=self.created_at)
        return [delivery(self.payload), _status(sent)]

    def acknowledge(
        self, *, by: str, at: datetime, recipient: Recipient | None = None, municipality: str | None = None
    ) -> tuple[bool, list[Outgoing]]:
        """Acknowledged (stops its timer); whether this changed it, and its "acknowledged" status (again, if it was).

        ``recipient`` (and for a burgemeester ``municipality``): who acknowledges; another one's notification is
        refused (``WrongRecipient``) and stays as it was.
        """
        notification = self.sent()
        if recipient is not None and recipient is not self.recipient:
            raise WrongRecipient(
                f"notification {self.notification_id} went to {self.recipient.value}, not {recipient.value}"
            )
        if municipality is not None and (
            not isinstance(notification, BurgemeesterNotification) or notification.municipality != municipality
        ):
            raise WrongRecipient(
                f"notification {self.notification_id} did not go to the burgemeester of {municipality}"
            )
        changed = not self.acknowledged
        if changed:
            self.acknowledged_by, self.acknowledged_at = by, at
            self.state = NotificationState.ACKNOWLEDGED
            self.due_at = None
        detail = f"acknowledged by {self.acknowledged_by}"
        acked = domain.status(notification, NotificationState.ACKNOWLEDGED, detail=detail, at=self.acknowledged_at)
        return changed, [_status(acked)]

    def escalate(self, now: datetime, policy: NotifyPolicy) -> list[Outgoing]:
        """Re-send and escalate when its acknowledgement is overdue; nothing otherwise."""
        if self.erased or self.acknowledged or self.due_at is None or self.due_at > now:
            return []
        silent = self.sent()
        self.resend_no += 1
        timeout = policy.ack_timeout_s
        notices = domain.escalation_notices(
            silent, resend_no=self.resend_no, first_sent_at=self.created_at, ack_timeout_s=timeout
        )
        escalated = domain.status(
            silent,
            NotificationState.ESCALATED,
            detail=f"no acknowledgement within {timeout:g} s: re-sent (#{self.resend_no}), escalated to "
            + ", ".join(n.recipient.value for n in notices),
            occurrence=self.resend_no,
            at=now,
        )
        last = self.resend_no >= policy.ack_max_resends
        self.due_at = None if last else now + timedelta(seconds=timeout)
        self.state = NotificationState.ESCALATED
        return [
            delivery(domain.resent(silent, self.resend_no)),
            *(Outgoing(notice, notify_topic(notice.recipient)) for notice in notices),
            _status(escalated),
        ]

    # --- webhook delivery ---------------------------------------------------------------------------------------
    def webhook_due(self, now: datetime) -> bool:
        hook = self.webhook
        return (
            hook is not None
            and hook.state is WebhookState.PENDING
            and (hook.next_at is None or hook.next_at <= now)
            and not self.erased
        )

    def take_webhook_attempt(self, *, lease_until: datetime) -> int:
        """Count the next attempt and lease it: a crash during the attempt retries it once the lease is up."""
        assert self.webhook is not None
        self.webhook.attempt += 1
        self.webhook.next_at = lease_until
        return self.webhook.attempt

    def webhook_delivered(self, at: datetime) -> None:
        if self.webhook is not None and self.webhook.state is WebhookState.PENDING:
            self.webhook.state = WebhookState.DELIVERED
            self.webhook.delivered_at = at

    def webhook_retry_at(self, next_at: datetime) -> None:
        if self.webhook is not None and self.webhook.state is WebhookState.PENDING:
            self.webhook.next_at = next_at

    def webhook_failed(self, *, at: datetime, reason: str) -> list[Outgoing]:
        """Given up; the "failed" status (nothing when delivery was no longer pending)."""
        if self.webhook is None or self.webhook.state is not WebhookState.PENDING or self.payload is None:
            return []
        self.webhook.state = WebhookState.FAILED
        self.webhook.failed_at = at
        return [
            _status(domain.status(self.payload, NotificationState.FAILED, detail=reason, occurrence="webhook", at=at))
        ]

    def mail_failed(self, *, at: datetime, reason: str, mail_id: str, policy: NotifyPolicy) -> list[Outgoing]:
        """Its e-mail could not be delivered: the "failed" status, and OTWB and JenV told (they can call)."""
        if self.payload is None:
            return []
        failed = domain.status(
            self.payload, NotificationState.FAILED, detail=reason, occurrence=f"email:{mail_id}", at=at
        )
        notices = domain.escalation_notices(
            self.payload,
            resend_no=self.payload.resend_no,
            first_sent_at=self.created_at,
            ack_timeout_s=policy.ack_timeout_s,
            undelivered=(mail_id, reason),
        )
        return [_status(failed), *(Outgoing(notice, notify_topic(notice.recipient)) for notice in notices)]

    def erase(self) -> None:
        """The case was erased: drop the payload, stop the timer, send nothing more."""
        self.payload = None
        self.due_at = None
        self.outbox = []
        if self.webhook is not None and self.webhook.state is WebhookState.PENDING:
            self.webhook.state = WebhookState.ERASED


@dataclass(slots=True)
class FollowupClock:
    """An aangifte was wanted: police or OM must report a follow-up before ``due_at``."""

    due_at: datetime
    police_notification_id: str
    level: RiskLevel
    overdue_at: datetime | None = None


@dataclass(slots=True)
class CaseNotifications:
    """What notify keeps of a case: its first report, whether it was erased, the follow-up clock."""

    case_id: str
    report: IncidentReport | None = None
    report_id: str | None = None
    """Which of the case's reports ``report`` is (a filer may erase its own report and leave the others)."""
    erased: bool = False
    followup: FollowupClock | None = None
    followup_received: bool = False
    last_followup_kind: FollowupKind | None = None
    contacts: dict[str, str] = field(default_factory=dict)
    """Report id → where its filer wants e-mail about the case's stage (only filers who consented at intake)."""
    outbox: list[Record] = field(default_factory=list)

    def remember_report(self, report: IncidentReport, report_id: str | None = None) -> None:
        """Keep the case's first report (what every notification of the case is projected from), and the address
        of each filer who consented to e-mail about the case."""
        if self.erased:
            return
        if self.report is None:
            self.report, self.report_id = report, report_id
        address = report.updates_address
        if address and report_id:
            self.contacts.setdefault(report_id, address)

    def forget_contacts(self, report_ids: tuple[str, ...]) -> set[str]:
        """Erased reports (empty: all of them) take their filers' addresses along; the addresses dropped."""
        gone = {rid: a for rid, a in self.contacts.items() if not report_ids or rid in report_ids}
        self.contacts = {rid: a for rid, a in self.contacts.items() if rid not in gone}
        return set(gone.values())

    def holds_any(self, report_ids: tuple[str, ...]) -> bool:
        """Whether an erasure of ``report_ids`` (empty: the whole case) reaches what this case keeps.

        A report kept before its id was (``report_id`` None) counts as reached: erase rather than keep.
        """
        return not report_ids or self.report_id is None or self.report_id in report_ids

    def notify(self, decision: CaseTriaged, *, now: datetime, policy: NotifyPolicy) -> list[SentNotification]:
        """One notification per routed recipient, the police first; their ids are the same for the same decision.

        Starts the follow-up clock the first time the police are sent an aangifte.
        """
        if self.erased or not decision.routes:
            return []
        if self.report is None:
            raise CaseDetailsNotYetKnown(f"no report stored yet for case {self.case_id}")
        routes = sorted(decision.routes, key=lambda route: route.recipient is not Recipient.POLICE)
        sent = [
            SentNotification.send(
                domain.project(decision, self.report, route.recipient, route.reason, at=now),
                assessment_no=decision.assessment_no,
                at=now,
                policy=policy,
            )
            for route in routes
        ]
        police = sent[0] if sent[0].recipient is Recipient.POLICE else None
        if police is not None and self.report.wants_aangifte and self.followup is None:
            self.followup = FollowupClock(
                due_at=now + timedelta(seconds=policy.followup_deadline_s),
                police_notification_id=police.notification_id,
                level=decision.level,
            )
        return sent

    def record_followup(self, kind: FollowupKind) -> None:
        """Police or OM reported a follow-up: the clock stops (setting it twice changes nothing). Support and
        protection (aftercare, a CCV scan, a protective measure) do not answer for the aangifte: the clock runs on."""
        if kind not in JUSTICE_FOLLOWUPS:
            return
        self.followup_received = True
        self.last_followup_kind = kind

    def flag_followup_overdue(self, now: datetime) -> list[Outgoing]:
        """Flag a missing follow-up once it is overdue; the police notification's status says so."""
        clock = self.followup
        if clock is None or self.followup_received or clock.overdue_at is not None or clock.due_at > now:
            return []
        clock.overdue_at = now
        police = domain.Addressee(
            notification_id=clock.police_notification_id,
            case_id=self.case_id,
            recipient=Recipient.POLICE,
            level=clock.level,
        )
        overdue = domain.status(
            police,
            NotificationState.FOLLOWUP_OVERDUE,
            detail="aangifte wanted; no follow-up from police or OM in time",
            at=now,
        )
        return [_status(overdue)]

    def erase(self) -> None:
        """The case was erased at intake: drop the report; nothing is notified any more."""
        self.erased = True
        self.report = None
        self.contacts = {}
        self.outbox = []


@dataclass(frozen=True, slots=True)
class Delivery:
    """One webhook attempt as the recipient's role may see it."""

    notification_id: str
    case_id: str
    recipient: Recipient
    attempt: int
    at: datetime
    ok: bool
    status_code: int | None
    error: str
    duration_ms: float


@dataclass(frozen=True, slots=True)
class DeliveryAttempt:
    """One webhook attempt as logged: what may be seen, and the receiver's URL (which no view shows)."""

    delivery: Delivery
    url: str
