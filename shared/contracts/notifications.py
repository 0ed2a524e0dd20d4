"""What each recipient receives: one explicit model per recipient, holding only what its task needs.

Data minimisation per recipient (see docs/liaisons.md for the reasoning):

| recipient    | identity        | contact | free text | why                                                    |
|--------------|-----------------|---------|-----------|--------------------------------------------------------|
| police       | name            | yes     | yes       | takes the aangifte, assesses the threat                |
| om           | pseudonym only  | no      | no        | prosecution decisions; identity comes via the police   |
| jenv         | pseudonym only  | no      | no        | Bewaken en Beveiligen coordination; pseudonym links    |
| burgemeester | name            | no      | no        | local protective measures concern a known person       |
| bzk          | none            | no      | no        | programme monitoring: no personal data at all          |
| otwb         | name            | yes     | no        | must reach the office holder to offer support          |
| ccv          | name            | yes     | no        | must reach the office holder to offer a security scan  |

BZK gets neither the body code nor gender: a role with a municipality code identifies a burgemeester, and gender narrows
small populations further; it gets the month, not the moment.

What goes on a recipient's topic is :func:`on_the_wire`: a notification that holds personal data (every recipient but
BZK: a name, contact details, free text, or a keyed pseudonym) travels as a :class:`NotificationNotice` (that it exists,
how urgent it is, why, and where to read it), and the recipient reads the notification itself over HTTP
(``GET /v1/notifications/{id}/details``: need-to-know, audited, gone once the case is erased). So no copy of personal
data sits in the Kafka log for its retention, where erasing a case could not reach it; the webhook still delivers the
whole notification to the recipient's own endpoint (point to point, signed, not kept by weerbaar).
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import Field

from shared.contracts import topics
from shared.contracts.aangifte import Qualification
from shared.contracts.events import Factor, Notification, PoliceNotification
from shared.contracts.incident import BodyKind, Channel, IncidentType, ReporterKind, Role
from shared.contracts.topics import Recipient

__all__ = [
    "RECIPIENT_MODELS",
    "BurgemeesterNotification",
    "BzkNotification",
    "CcvNotification",
    "EscalationNotice",
    "JenvNotification",
    "Notification",
    "NotificationNotice",
    "OmNotification",
    "OtwbNotification",
    "PoliceNotification",
    "delivery_topic",
    "details_path",
    "on_the_wire",
    "wire_model",
]


class OmNotification(Notification):
    """OM: the case facts and their indicative qualification; no identity, no contact, no free text."""

    ce_type: ClassVar[str] = "nl.weerbaar.notify.om.v1"
    topic: ClassVar[str] = topics.notify_topic(Recipient.OM)

    office_holder_ref: str = Field(description="Keyed pseudonym: links repeat cases, never a name")
    office_holder_role: Role
    body_kind: BodyKind
    body_code: str
    incident_types: tuple[IncidentType, ...]
    channel: Channel
    platform: str | None
    occurred_at: datetime
    reported_at: datetime
    perpetrator: str
    circumstances: tuple[str, ...]
    qualifications: tuple[Qualification, ...]
    wants_aangifte: bool
    factors: tuple[Factor, ...]


class JenvNotification(Notification):
    """JenV (Bewaken en Beveiligen): who is threatened by role and body, how seriously, and why."""

    ce_type: ClassVar[str] = "nl.weerbaar.notify.jenv.v1"
    topic: ClassVar[str] = topics.notify_topic(Recipient.JENV)

    office_holder_ref: str = Field(description="Keyed pseudonym: links repeat cases, never a name")
    office_holder_role: Role
    body_kind: BodyKind
    body_code: str
    incident_types: tuple[IncidentType, ...]
    channel: Channel
    occurred_at: datetime
    home_involved: bool
    meeting_related: bool
    factors: tuple[Factor, ...]


class BurgemeesterNotification(Notification):
    """Burgemeester: what local measures need (whom, where it happens); no contact details, no free text."""

    ce_type: ClassVar[str] = "nl.weerbaar.notify.burgemeester.v1"
    topic: ClassVar[str] = topics.BURGEMEESTER_TOPIC_PATTERN

    municipality: str = Field(
        pattern=r"^GM\d{4}$", description="The municipality whose burgemeester this is for (its topic's)"
    )
    office_holder_name: str
    office_holder_role: Role
    body_kind: BodyKind
    body_code: str
    incident_types: tuple[IncidentType, ...]
    channel: Channel
    occurred_at: datetime
    home_involved: bool
    meeting_related: bool
    factors: tuple[Factor, ...]


class BzkNotification(Notification):
    """BZK: no personal data at all; only category, role, kind of body, level and month."""

    ce_type: ClassVar[str] = "nl.weerbaar.notify.bzk.v1"
    topic: ClassVar[str] = topics.notify_topic(Recipient.BZK)

    office_holder_role: Role
    body_kind: BodyKind
    incident_types: tuple[IncidentType, ...]
    online: bool
    occurred_month: str = Field(pattern=r"^\d{4}-\d{2}$")


class OtwbNotification(Notification):
    """OTWB: how to reach the office holder with a support offer, and what happened in categories."""

    ce_type: ClassVar[str] = "nl.weerbaar.notify.otwb.v1"
    topic: ClassVar[str] = topics.notify_topic(Recipient.OTWB)

    office_holder_name: str
    office_holder_role: Role
    body_kind: BodyKind
    body_code: str
    contact_email: str | None
    contact_phone: str | None
    reported_by: ReporterKind
    reported_by_organisation: str | None
    incident_types: tuple[IncidentType, ...]
    channel: Channel
    occurred_at: datetime
    impact_on_functioning: bool
    wants_aangifte: bool


class CcvNotification(Notification):
    """CCV: how to reach the office holder for a security scan, and which exposure to look at."""

    ce_type: ClassVar[str] = "nl.weerbaar.notify.ccv.v1"
    topic: ClassVar[str] = topics.notify_topic(Recipient.CCV)

    office_holder_name: str
    office_holder_role: Role
    body_code: str
    contact_email: str | None
    contact_phone: str | None
    home_involved: bool
    home_visited: bool
    family_targeted: bool
    digital_exposure: bool


class EscalationNotice(Notification):
    """To the OTWB duty officer and JenV: a recipient did not acknowledge a notification in time."""

    ce_type: ClassVar[str] = "nl.weerbaar.notify.escalation.v1"

    escalated_notification_id: str
    silent_recipient: Recipient
    first_sent_at: datetime
    ack_timeout_s: float


RECIPIENT_MODELS: dict[Recipient, type[Notification]] = {
    Recipient.POLICE: PoliceNotification,
    Recipient.OM: OmNotification,
    Recipient.JENV: JenvNotification,
    Recipient.BURGEMEESTER: BurgemeesterNotification,
    Recipient.BZK: BzkNotification,
    Recipient.OTWB: OtwbNotification,
    Recipient.CCV: CcvNotification,
}


def delivery_topic(notification: Notification) -> str:
    """Where a notification is published: its recipient's topic; a burgemeester's, its municipality's."""
    if isinstance(notification, BurgemeesterNotification):
        return topics.burgemeester_topic(notification.municipality)
    return topics.notify_topic(notification.recipient)


class NotificationNotice(Notification):
    """On a recipient's topic in place of a notification with personal data: that there is one for you, how urgent,
    why, and where to read it (``details``, with your own token; docs/liaisons.md). Nothing personal."""

    ce_type: ClassVar[str] = "nl.weerbaar.notify.notice.v1"

    details: str = Field(description="Path on notify that returns the whole notification to its recipient")
    municipality: str | None = Field(
        default=None, pattern=r"^GM\d{4}$", description="A burgemeester's notification: the municipality (its topic's)"
    )
    reported_at: datetime | None = Field(default=None, description="When the report was received, where known")


WITHOUT_PERSONAL_DATA: frozenset[type[Notification]] = frozenset(
    {BzkNotification, EscalationNotice, NotificationNotice}
)
"""Notifications that travel on the topic as they are: nothing in them identifies anyone."""


def wire_model(model: type[Notification]) -> type[Notification]:
    """The model a recipient's topic carries for notifications of ``model`` (see :func:`on_the_wire`)."""
    return model if model in WITHOUT_PERSONAL_DATA else NotificationNotice


def details_path(notification_id: str) -> str:
    return f"/v1/notifications/{notification_id}/details"


def on_the_wire(notification: Notification) -> Notification:
    """What a recipient's topic (and its dead-letter topic) carries for ``notification``: the notification itself when
    it holds no personal data, otherwise its notice (same event id, so consumers dedupe a re-published one)."""
    if type(notification) in WITHOUT_PERSONAL_DATA:
        return notification
    return NotificationNotice(
        **notification.model_dump(include=set(Notification.model_fields)),  # what every notification says
        details=details_path(notification.notification_id),
        municipality=notification.municipality if isinstance(notification, BurgemeesterNotification) else None,
        reported_at=notification.reported_at if isinstance(notification, PoliceNotification) else None,
    )
