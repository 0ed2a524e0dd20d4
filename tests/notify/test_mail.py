"""E-mail delivery against a real SMTP server that requires STARTTLS (aiosmtpd, started by the tests), on the real
store and broker: delivered over TLS with a subject that names no one; a relay that is down is retried with backoff,
then the notification fails and the OTWB duty officer and JenV are told."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError
from pymongo.asynchronous.database import AsyncDatabase

from services.notify import domain, mail
from services.notify.mail import Links, Mail, MailState
from services.notify.mailing import MailDelivery, MailRetries
from services.notify.model import SentNotification
from services.notify.sending import Outboxes, Sender
from services.notify.service import policy_of
from services.notify.settings import Settings
from services.notify.smtp import MailRelay
from services.notify.store import NotifyStore
from shared.contracts.events import RiskLevel
from shared.contracts.topics import NOTIFICATION_STATUS, Recipient, notify_topic
from shared.messaging.kafka import EventPublisher
from shared.runtime.settings import CommonSettings
from shared.security.crypto import DataCipher
from shared.store.mongo import Document
from tests.notify.harness import decision, report
from tests.support.endpoints import Endpoints
from tests.support.mailbox import Mailbox
from tests.support.probe import TopicProbe
from tests.support.services import free_port

CIPHER = DataCipher.from_settings(CommonSettings())
LINKS = Links(intake_url="https://intake.example.nl", notify_url="https://notify.example.nl")
OFFICE = "veiligheid@gm0344.example.nl"


def _settings(*, port: int, ca_file: str | None, attempts: int = 3) -> Settings:
    return Settings(
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_ca_file=ca_file,
        smtp_timeout_s=2,
        email_recipients={"burgemeester:GM0344": OFFICE},
        email_attempts=attempts,
        email_backoff_s=0.05,
        email_max_backoff_s=0.2,
    )


def _notification(settings: Settings) -> SentNotification:
    triaged = decision(uuid.uuid4().hex, level=RiskLevel.HIGH, routes=())
    payload = domain.project(triaged, report(wants_aangifte=False), Recipient.BURGEMEESTER, "test")
    return SentNotification.send(payload, assessment_no=1, at=datetime.now(UTC), policy=policy_of(settings))


async def _stored(store: NotifyStore, settings: Settings) -> tuple[SentNotification, Mail]:
    notification = _notification(settings)
    assert notification.payload is not None
    to = mail.address_for(notification.payload, dict(settings.email_recipients))
    assert to == OFFICE
    sent = mail.for_recipient(notification.payload, to=to, links=LINKS, at=notification.created_at)
    await store.create([notification])
    assert not await store.create_mails([sent])
    return notification, sent


@pytest.fixture
def own_db(store: AsyncDatabase[Document]) -> AsyncDatabase[Document]:
    """A database of these tests' own: the running notify of the e2e tests delivers what is due in the run's."""
    return store.client[f"{store.name}_mail"]


def _delivery(store: NotifyStore, publisher: EventPublisher, settings: Settings) -> MailDelivery:
    sender = Sender(publisher, source="/weerbaar/notify", service="test")
    retries = MailRetries(attempts=settings.email_attempts, backoff_s=0.05, max_backoff_s=0.2, lease_s=10)
    return MailDelivery(store, sender, Outboxes(store, sender), MailRelay(settings), policy_of(settings), retries)


async def _until(delivery: MailDelivery, store: NotifyStore, mail_id: str, state: MailState) -> Mail:
    deadline = time.monotonic() + 30
    while True:
        await delivery.deliver_due()
        found = await store.peek_mail(mail_id)
        assert found is not None
        if found.state is state:
            return found
        assert time.monotonic() < deadline, found
        await asyncio.sleep(0.05)


@pytest.mark.integration
async def test_a_recipients_email_is_delivered_over_starttls_without_personal_data_in_the_subject(
    mailbox: Mailbox, own_db: AsyncDatabase[Document], publisher: EventPublisher
) -> None:
    notify_store = NotifyStore(own_db, CIPHER)
    settings = _settings(port=mailbox.port, ca_file=str(mailbox.ca_file))
    notification, sent = await _stored(notify_store, settings)
    done = await _until(_delivery(notify_store, publisher, settings), notify_store, sent.mail_id, MailState.DELIVERED)
    assert done.attempt == 1

    (received,) = [m for m in mailbox.to(OFFICE) if notification.case_id in m.body]
    assert received.tls, "the relay got the message only after STARTTLS"
    assert received.subject == "weerbaar: melding voor burgemeester, niveau high"
    name = report().office_holder.name
    assert name not in received.subject
    assert name not in received.body
    assert report().incident.description not in received.body
    assert f"{LINKS.case(notification.case_id)}" in received.body
    assert f"POST {LINKS.ack(notification.notification_id)}" in received.body


@pytest.mark.integration
async def test_a_relay_that_is_down_is_retried_then_the_notification_fails_and_otwb_is_told(
    own_db: AsyncDatabase[Document], publisher: EventPublisher, endpoints: Endpoints
) -> None:
    notify_store = NotifyStore(own_db, CIPHER)
    settings = _settings(port=free_port(), ca_file=None, attempts=3)  # nothing listens there
    notification, sent = await _stored(notify_store, settings)
    probe = TopicProbe(endpoints.kafka_bootstrap, [NOTIFICATION_STATUS, notify_topic(Recipient.OTWB)])
    await probe.start()
    try:
        failed = await _until(
            _delivery(notify_store, publisher, settings), notify_store, sent.mail_id, MailState.FAILED
        )
        statuses = await probe.wait_for(NOTIFICATION_STATUS, notification.case_id)
        (notice,) = await probe.wait_for(notify_topic(Recipient.OTWB), notification.case_id)
    finally:
        await probe.stop()
    assert failed.attempt == 3, "bounded: the configured attempts, then it gives up"
    assert "after 3 attempt(s)" in failed.error
    assert [s.json()["status"] for s in statuses] == ["failed"]
    assert "e-mail not delivered" in statuses[0].json()["detail"]
    told = notice.json()
    assert (told["silent_recipient"], told["escalated_notification_id"]) == (
        "burgemeester",
        notification.notification_id,
    )
    stored = await notify_store.peek_notification(notification.notification_id)
    assert stored is not None
    assert not stored.outbox, "what the failure caused was published"


def test_plaintext_smtp_is_refused_outside_dev_mode() -> None:
    production: dict[str, Any] = {
        "dev_mode": False,
        "data_keys": '{"k1": "' + "A" * 43 + '="}',
        "data_key_id": "k1",
        "pseudonym_key": "p",
        "audit_key": "a",
        "webhook_secret": "w",
        "jwt_public_key_file": "/dev/null",
        "smtp_host": "relay.example.nl",
    }
    Settings(**production)  # STARTTLS (the default): fine
    with pytest.raises(ValidationError, match="plaintext SMTP"):
        Settings(**production, smtp_starttls=False)
    assert not Settings(dev_mode=True, smtp_host="localhost", smtp_starttls=False).smtp_starttls
    with pytest.raises(ValidationError, match="WEERBAAR_SMTP_HOST"):
        Settings(email_recipients={"ccv": "scan@ccv.example.nl"})
    with pytest.raises(ValidationError, match="unknown e-mail recipient"):
        Settings(smtp_host="localhost", email_recipients={"burgemeester:Amsterdam": "x@example.nl"})


def test_a_reporters_email_carries_only_the_link_to_their_own_case() -> None:
    at = datetime.now(UTC)
    sent = mail.for_reporter(
        "case-1234", to="melder@example.nl", stage_event_id="e1", report_id="r1", links=LINKS, at=at
    )
    assert sent.subject == mail.REPORTER_SUBJECT
    assert "https://intake.example.nl/reporter/cases/case-1234" in sent.body
    again = mail.for_reporter(
        "case-1234", to="melder@example.nl", stage_event_id="e1", report_id="r1", links=LINKS, at=at
    )
    assert again.mail_id == sent.mail_id, "a redelivered stage change makes the same e-mail"
