"""Notify's consumer use cases on in-memory fakes: one notification per recipient, redelivery, acks, erasure."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from services.notify.errors import CaseDetailsNotYetKnown, NotificationNotFound, WrongRecipient
from services.notify.model import vouched_ack
from shared.contracts.envelope import to_record
from shared.contracts.events import RiskLevel, erased_office_holder_ref
from shared.contracts.notifications import on_the_wire
from shared.contracts.topics import NOTIFICATION_STATUS, Recipient, ack_topic, notify_topic
from shared.runtime.errors import Unavailable
from tests.notify.harness import CRITICAL_ROUTES, Notify, ack, decision, new_case, reported


async def _with_report(notify: Notify, case_id: str) -> None:
    await notify.service.remember_reports(case_id, [reported(case_id)])


async def test_a_batch_of_decisions_costs_one_bulk_insert_and_a_case_save_only_for_the_followup_clock() -> None:
    notify = Notify()
    case_id = new_case()
    await _with_report(notify, case_id)
    saves = notify.store.writes["cases.save"]
    batch = [decision(case_id, assessment_no=1), decision(case_id, assessment_no=2, level=RiskLevel.HIGH)]
    await notify.service.notify(case_id, batch)
    assert notify.store.writes["cases.save"] == saves + 1, "the aangifte's follow-up clock starts"
    assert notify.store.writes["notifications.insert_many"] == 1
    await notify.service.notify(case_id, [decision(case_id, assessment_no=3)])
    assert notify.store.writes["cases.save"] == saves + 1, "the clock runs already: the case is not written"
    assert len(notify.store.sent(case_id)) == 3 * len(CRITICAL_ROUTES)


async def test_a_duplicate_decision_in_a_batch_yields_one_notification_per_recipient() -> None:
    notify = Notify()
    case_id = new_case()
    await _with_report(notify, case_id)
    await notify.service.notify(case_id, [decision(case_id), decision(case_id)])
    assert len(notify.store.sent(case_id)) == len(CRITICAL_ROUTES)
    assert len(set(notify.publisher.ids())) == len(notify.publisher.ids()) == 2 * len(CRITICAL_ROUTES)


async def test_a_redelivered_batch_republishes_what_a_crash_left_unpublished_without_a_second_notification() -> None:
    notify = Notify()
    case_id = new_case()
    await _with_report(notify, case_id)
    notify.publisher.failing = True
    with pytest.raises(Unavailable):
        await notify.service.notify(case_id, [decision(case_id)])
    stored = {n.notification_id: n for n in notify.store.sent(case_id)}
    assert len(stored) == len(CRITICAL_ROUTES), "saved before publishing"

    notify.restart()  # the batch was not committed: a new process reads it again
    notify.publisher.failing = False
    notify.clock.advance(30)
    await notify.service.notify(case_id, [decision(case_id)])
    assert {n.notification_id: n for n in notify.store.sent(case_id)} == stored, "nothing stored twice"
    published = {r.headers["ce_id"].decode(): r for r in notify.publisher.records if r.topic != NOTIFICATION_STATUS}
    for nid, sent in stored.items():
        assert sent.payload is not None
        expected = to_record(on_the_wire(sent.payload), source="/weerbaar/notify", topic=notify_topic(sent.recipient))
        assert published[nid].value == expected.value, "the same notification, sent at the same time"


async def test_a_decision_waits_for_its_report_and_stores_nothing_meanwhile() -> None:
    notify = Notify()
    case_id = new_case()
    with pytest.raises(CaseDetailsNotYetKnown):
        await notify.service.notify(case_id, [decision(case_id)])
    assert not notify.store.notifications
    assert not notify.publisher.records


async def test_a_decision_without_routes_needs_no_report() -> None:
    notify = Notify()
    case_id = new_case()
    await notify.service.notify(case_id, [decision(case_id, routes=())])
    assert not notify.store.writes


async def test_only_the_first_report_of_a_case_is_kept() -> None:
    notify = Notify()
    case_id = new_case()
    await _with_report(notify, case_id)
    saves = notify.store.writes["cases.save"]
    await notify.service.remember_reports(case_id, [reported(case_id, **{"office_holder.name": "B. Ander"})])
    assert notify.store.writes["cases.save"] == saves, "nothing changed: nothing written"
    case = await notify.store.peek_case(case_id)
    assert case is not None
    assert case.report is not None
    assert case.report.office_holder.name == "A. Voorbeeld"


async def test_an_acknowledgement_from_the_topic_stops_the_timer_and_a_redelivery_republishes_its_status() -> None:
    notify = Notify()
    case_id = new_case()
    await _with_report(notify, case_id)
    await notify.service.notify(case_id, [decision(case_id)])
    (police,) = [n for n in notify.store.sent(case_id) if n.recipient is Recipient.POLICE]
    assert police.due_at is not None

    notify.publisher.failing = True
    with pytest.raises(Unavailable):
        await notify.service.apply_acks(case_id, [ack(case_id, police.notification_id, Recipient.POLICE)])
    notify.restart()
    notify.publisher.failing = False
    await notify.service.apply_acks(case_id, [ack(case_id, police.notification_id, Recipient.POLICE)])
    statuses = [r for r in notify.publisher.records if r.topic == NOTIFICATION_STATUS]
    assert [s.headers["ce_type"].decode() for s in statuses[-1:]] == ["nl.weerbaar.notification.status.v1"]
    acked = await notify.store.peek_notification(police.notification_id)
    assert acked is not None
    assert acked.acknowledged
    assert acked.due_at is None
    assert b'"status":"acknowledged"' in statuses[-1].value


async def test_an_acknowledgement_for_another_recipient_or_an_unknown_notification_is_refused() -> None:
    notify = Notify()
    case_id = new_case()
    await _with_report(notify, case_id)
    await notify.service.notify(case_id, [decision(case_id)])
    (om,) = [n for n in notify.store.sent(case_id) if n.recipient is Recipient.OM]
    with pytest.raises(WrongRecipient):
        await notify.service.apply_acks(case_id, [ack(case_id, om.notification_id, Recipient.POLICE)])
    with pytest.raises(NotificationNotFound):
        await notify.service.apply_acks(case_id, [ack(case_id, "unknown-notification", Recipient.OM)])


async def test_an_acknowledgement_from_another_municipality_is_refused_and_changes_nothing() -> None:
    notify = Notify()
    case_id = new_case()
    await _with_report(notify, case_id)
    await notify.service.notify(case_id, [decision(case_id)])
    (burgemeester,) = [n for n in notify.store.sent(case_id) if n.recipient is Recipient.BURGEMEESTER]
    nid = burgemeester.notification_id
    forged = vouched_ack(ack_topic(Recipient.BURGEMEESTER, "GM0363"), ack(case_id, nid, Recipient.BURGEMEESTER))
    assert forged.municipality == "GM0363", "the topic says whose acknowledgement it is"
    with pytest.raises(WrongRecipient):
        await notify.service.apply_acks(case_id, [forged])
    unchanged = await notify.store.peek_notification(nid)
    assert unchanged is not None
    assert not unchanged.acknowledged
    assert unchanged.due_at is not None, "its escalation still runs"
    own = vouched_ack(ack_topic(Recipient.BURGEMEESTER, "GM0344"), ack(case_id, nid, Recipient.BURGEMEESTER))
    await notify.service.apply_acks(case_id, [own])
    acked = await notify.store.peek_notification(nid)
    assert acked is not None
    assert acked.acknowledged


async def test_an_http_acknowledgement_waits_in_the_outbox_while_the_broker_is_down() -> None:
    notify = Notify()
    case_id = new_case()
    await _with_report(notify, case_id)
    await notify.service.notify(case_id, [decision(case_id)])
    (police,) = [n for n in notify.store.sent(case_id) if n.recipient is Recipient.POLICE]
    notify.publisher.failing = True
    acked, changed = await notify.service.acknowledge(police.notification_id, recipient=None, by="desk")
    assert changed
    assert acked.acknowledged
    _again, changed_again = await notify.service.acknowledge(police.notification_id, recipient=None, by="desk")
    assert not changed_again
    _, pending = await notify.store.with_outbox(10)
    assert pending == [police.notification_id]

    notify.publisher.failing = False
    assert await notify.outboxes.relay() == 1
    assert await notify.store.with_outbox(10) == ([], [])
    assert b'"status":"acknowledged"' in notify.publisher.records[-1].value


async def test_an_erased_case_loses_its_payloads_and_is_notified_no_more() -> None:
    notify = Notify()
    case_id = new_case()
    await _with_report(notify, case_id)
    await notify.service.notify(case_id, [decision(case_id)])
    await notify.service.forget_case(case_id)
    assert all(n.payload is None and n.due_at is None for n in notify.store.sent(case_id))
    assert all(doc["sealed"] == "erased" for doc in notify.store.notifications.values())
    case = await notify.store.peek_case(case_id)
    assert case is not None
    assert case.erased
    assert case.report is None
    published = len(notify.publisher.records)
    await notify.service.notify(case_id, [decision(case_id, assessment_no=2)])
    assert len(notify.publisher.records) == published
    with pytest.raises(NotificationNotFound):
        await notify.service.acknowledge(notify.store.sent(case_id)[0].notification_id, recipient=None, by="desk")


async def test_triage_s_copy_of_an_erased_case_s_decision_sends_nothing_before_the_erasure_arrives() -> None:
    notify = Notify()
    case_id = new_case()
    await _with_report(notify, case_id)
    told = decision(case_id)
    await notify.service.notify(case_id, [told])
    notify.restart()  # a process that does not know what was sent: a redelivered decision is sent again as stored
    published = len(notify.publisher.records)
    redacted = told.facts.model_copy(update={"office_holder_ref": erased_office_holder_ref(case_id)})
    await notify.service.notify(case_id, [told.model_copy(update={"facts": redacted})])
    assert len(notify.publisher.records) == published, "the payloads of a case being erased are not sent again"
    await notify.service.notify(case_id, [told])
    assert len(notify.publisher.records) > published, "the decision as it was: sent again (so the copy's was not)"


async def test_published_states_and_the_report_to_police_time_are_counted_once() -> None:
    sent = {"recipient": "police", "level": "critical", "state": "sent"}
    before_sent = REGISTRY.get_sample_value("weerbaar_notifications_total", sent) or 0.0
    before_timed = REGISTRY.get_sample_value("weerbaar_acute_police_seconds_count", {"level": "critical"}) or 0.0
    notify = Notify()
    case_id = new_case()
    await _with_report(notify, case_id)
    await notify.service.notify(case_id, [decision(case_id)])
    await notify.service.notify(case_id, [decision(case_id)])  # redelivered: nothing new is published
    assert REGISTRY.get_sample_value("weerbaar_notifications_total", sent) == before_sent + 1
    assert REGISTRY.get_sample_value("weerbaar_acute_police_seconds_count", {"level": "critical"}) == before_timed + 1
