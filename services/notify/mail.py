"""E-mail, notify's third channel beside Kafka and webhooks: what is sent to whom (pure: no I/O, no SMTP).

Recipients that run no consumer and no webhook (burgemeester offices, CCV) get their notifications by e-mail; an
office holder who consented at intake hears of each change of their case's stage. Every e-mail is an aggregate of
its own (``notify_mails``) with its delivery state, as a webhook has: attempts, the next one's time, the outcome.

Minimised: the subject names no one; the body holds a link to the case view (behind authentication) and, for a
recipient, the notification's acknowledgement link; nothing of what the case holds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shared.contracts.events import Notification
from shared.contracts.notifications import BurgemeesterNotification
from shared.contracts.topics import Recipient


class MailState(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    ERASED = "erased"


class MailPurpose(StrEnum):
    NOTIFICATION = "notification"
    """A recipient's notification (or a reminder of it): acknowledged like any other."""
    REPORTER = "reporter"
    """A change of stage, to an office holder who consented to e-mail at intake."""


@dataclass(frozen=True, slots=True)
class Links:
    """Where the people who get an e-mail read more: the public addresses of intake and notify."""

    intake_url: str
    notify_url: str

    def case(self, case_id: str) -> str:
        return f"{self.intake_url.rstrip('/')}/v1/cases/{case_id}"

    def reporter_page(self, case_id: str) -> str:
        return f"{self.intake_url.rstrip('/')}/reporter/cases/{case_id}"

    def ack(self, notification_id: str) -> str:
        return f"{self.notify_url.rstrip('/')}/v1/notifications/{notification_id}/ack"


def mail_id(*parts: object) -> str:
    """Deterministic, so a redelivered event makes the same e-mail, never a second one."""
    return hashlib.sha256("|".join(str(p) for p in ("mail", *parts)).encode()).hexdigest()[:32]


def address_for(notification: Notification, addresses: Mapping[str, str]) -> str | None:
    """The configured address of a notification's recipient: a municipality's burgemeester office first
    (``burgemeester:GM0344``), then the recipient (``burgemeester``, ``ccv``); None: no e-mail."""
    if isinstance(notification, BurgemeesterNotification):
        found = addresses.get(f"{Recipient.BURGEMEESTER.value}:{notification.municipality}")
        if found:
            return found
    return addresses.get(notification.recipient.value)


@dataclass(slots=True)
class Mail:
    """One e-mail and what became of it."""

    mail_id: str
    case_id: str
    purpose: MailPurpose
    to: str | None
    """None once the case was erased."""
    subject: str
    body: str
    created_at: datetime
    notification_id: str | None = None
    recipient: Recipient | None = None
    state: MailState = MailState.PENDING
    attempt: int = 0
    next_at: datetime | None = None
    delivered_at: datetime | None = None
    failed_at: datetime | None = None
    error: str = ""

    def due(self, now: datetime) -> bool:
        return self.state is MailState.PENDING and self.to is not None and (self.next_at is None or self.next_at <= now)

    def take_attempt(self, *, lease_until: datetime) -> int:
        """Count the next attempt and lease it: a crash during the attempt retries it once the lease is up."""
        self.attempt += 1
        self.next_at = lease_until
        return self.attempt

    def delivered(self, at: datetime) -> None:
        if self.state is MailState.PENDING:
            self.state, self.delivered_at, self.error = MailState.DELIVERED, at, ""

    def retry_at(self, next_at: datetime, error: str) -> None:
        if self.state is MailState.PENDING:
            self.next_at, self.error = next_at, error

    def failed(self, *, at: datetime, error: str) -> bool:
        """Given up; whether this changed it (it was still pending)."""
        if self.state is not MailState.PENDING:
            return False
        self.state, self.failed_at, self.error, self.next_at = MailState.FAILED, at, error, None
        return True

    def erase(self) -> None:
        """The case was erased: the address goes, nothing more is sent."""
        self.to = None
        if self.state is MailState.PENDING:
            self.state, self.next_at = MailState.ERASED, None


def for_recipient(notification: Notification, *, to: str, links: Links, at: datetime) -> Mail:
    """A recipient's notification (or its re-send) by e-mail: the level, the case link, the acknowledgement link."""
    nid, resend = notification.notification_id, notification.resend_no
    level = notification.level.value
    subject = f"weerbaar: melding voor {notification.recipient.value}, niveau {level}"
    if resend:
        subject += f" (herinnering {resend}: nog niet bevestigd)"
    body = "\n".join(
        [
            f"Er staat een melding van weerbaar voor u klaar (niveau {level}).",
            "",
            f"Bekijk de zaak (inloggen vereist): {links.case(notification.case_id)}",
            f"Bevestig de ontvangst: POST {links.ack(nid)}",
            '  met {"acknowledged_by": "<uw organisatie>"} en uw token, of via uw eigen systeem.',
            "",
            f"Zaak: {notification.case_id}",
            f"Melding: {nid}",
            "",
            "Dit bericht bevat bewust geen persoonsgegevens: die leest u in de zaak.",
        ]
    )
    return Mail(
        mail_id=mail_id(nid, "resend", resend),
        case_id=notification.case_id,
        purpose=MailPurpose.NOTIFICATION,
        to=to,
        subject=subject,
        body=body,
        created_at=at,
        notification_id=nid,
        recipient=notification.recipient,
        next_at=at,
    )


REPORTER_SUBJECT = "weerbaar: er is nieuws over uw melding"


def for_reporter(case_id: str, *, to: str, stage_event_id: str, report_id: str, links: Links, at: datetime) -> Mail:
    """A change of the case's stage, to an office holder who consented: only the link to their own case view."""
    body = "\n".join(
        [
            "De stand van de zaak die u bij weerbaar meldde, is gewijzigd.",
            "",
            f"Lees wat er is gebeurd en wat er nu gebeurt (inloggen vereist): {links.reporter_page(case_id)}",
            "",
            "U krijgt deze berichten omdat u daarvoor bij uw melding toestemming gaf.",
            "Dringend hulp nodig? Het OTWB is 24/7 bereikbaar: https://www.weerbaarbestuur.nl",
        ]
    )
    return Mail(
        mail_id=mail_id(stage_event_id, report_id),
        case_id=case_id,
        purpose=MailPurpose.REPORTER,
        to=to,
        subject=REPORTER_SUBJECT,
        body=body,
        created_at=at,
        next_at=at,
    )
