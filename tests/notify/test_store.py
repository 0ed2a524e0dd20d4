"""Notify's documents: sealed, bounded, unchanged when nothing changed; bulk creation on the real store."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from services.notify import domain
from services.notify.model import CaseNotifications, SentNotification
from services.notify.store import CaseCodec, NotificationCodec, NotifyStore, Sealer
from shared.contracts.topics import Recipient
from shared.runtime.settings import CommonSettings
from shared.security.crypto import DataCipher
from shared.store.mongo import Document
from shared.store.serial import BULK_CHUNK
from tests.notify.harness import Notify, decision, new_case, report

CIPHER = DataCipher.from_settings(CommonSettings())
AT = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


def _notified_case(assessments: int = 1) -> tuple[CaseNotifications, list[SentNotification]]:
    case = CaseNotifications(case_id=new_case(), report=report())
    sent: list[SentNotification] = []
    for number in range(1, assessments + 1):
        sent += case.notify(decision(case.case_id, assessment_no=number), now=AT, policy=Notify().policy)
    return case, sent


def test_documents_hold_no_personal_data_in_plain_text_and_read_back_the_same() -> None:
    sealer = Sealer(CIPHER)
    case, sent = _notified_case()
    case_doc = CaseCodec(sealer).to_document(case)
    codec = NotificationCodec(sealer)
    docs = [codec.to_document(n) for n in sent]
    text = repr(case_doc) + repr(docs)
    for secret in ("A. Voorbeeld", "s.devries@example.nl", "we weten waar je woont"):
        assert secret not in text
    assert CaseCodec(sealer).from_document({**case_doc, "_id": case.case_id}) == case
    assert [codec.from_document({**d, "_id": n.notification_id}) for d, n in zip(docs, sent, strict=True)] == sent


def test_an_unchanged_aggregate_gives_the_same_document_so_nothing_is_written() -> None:
    sealer = Sealer(CIPHER)
    case, sent = _notified_case()
    codec, notifications = CaseCodec(sealer), NotificationCodec(sealer)
    stored = codec.to_document(case)
    assert codec.to_document(codec.from_document({**stored, "_id": case.case_id})) == stored
    first = notifications.to_document(sent[0])
    assert notifications.to_document(notifications.from_document({**first, "_id": sent[0].notification_id})) == first


def test_a_case_document_does_not_grow_with_its_assessments() -> None:
    codec = CaseCodec(Sealer(CIPHER))
    once, _ = _notified_case(assessments=1)
    often, sent = _notified_case(assessments=40)
    assert len(sent) == 40 * 6, "each notification is a document of its own"
    assert len(repr(codec.to_document(often))) == len(repr(codec.to_document(once)))


def test_an_erased_notification_keeps_no_sealed_payload() -> None:
    _, sent = _notified_case()
    sent[0].erase()
    doc = NotificationCodec(Sealer(CIPHER)).to_document(sent[0])
    assert doc["sealed"] == "erased"
    assert doc["erased"] is True


@pytest.mark.integration
async def test_bulk_creation_tolerates_notifications_that_exist(
    store: AsyncDatabase[Document],
) -> None:
    notify_store = NotifyStore(store, CIPHER)
    case_id = f"bulk-{uuid.uuid4().hex[:8]}"
    case = CaseNotifications(case_id=case_id, report=report())
    policy = Notify().policy
    sent = [
        n
        for number in range(1, 27)  # 26 assessments x 6 recipients: several bulk commands
        for n in case.notify(decision(case_id, assessment_no=number), now=AT, policy=policy)
    ]
    assert len(sent) > BULK_CHUNK
    assert await notify_store.create(sent[:1]) == set()  # the police alone, as on the acute lane
    assert await notify_store.create(sent[:1]) == {sent[0].notification_id}
    assert await notify_store.create(sent[:30]) == {sent[0].notification_id}
    assert await notify_store.create(sent) == {n.notification_id for n in sent[:30]}, "a redelivery: left as they are"
    assert sorted(await notify_store.notification_ids_of(case_id)) == sorted(n.notification_id for n in sent)
    police = domain.notification_id(case_id, Recipient.POLICE, 1)
    async with notify_store.notification(police) as notification:
        notification.acknowledge(by="desk", at=AT)
    notify_store.forget()
    found = await notify_store.peek_notification(police)
    assert found is not None
    assert found.acknowledged_at == AT
    assert found.payload == sent[0].payload


@pytest.mark.integration
async def test_a_new_case_is_one_insert_and_an_existing_one_is_not_overwritten(store: AsyncDatabase[Document]) -> None:
    notify_store = NotifyStore(store, CIPHER)
    case_id = new_case()
    assert await notify_store.add_case(CaseNotifications(case_id=case_id, report=report()))
    assert not await notify_store.add_case(CaseNotifications(case_id=case_id))
    notify_store.forget()  # another process, or after a restart: the insert is tried, and refused
    assert not await notify_store.add_case(CaseNotifications(case_id=case_id))
    found = await notify_store.peek_case(case_id)
    assert found is not None
    assert found.report == report()
