"""Notify's timers on in-memory fakes: silence is re-sent and escalated, a missing follow-up is flagged."""

from __future__ import annotations

import json

from prometheus_client import REGISTRY

from shared.contracts.events import CaseFollowup, FollowupKind, RiskLevel
from shared.contracts.topics import NOTIFICATION_STATUS, Recipient, notify_topic
from tests.notify.harness import ACK_TIMEOUT_S, Notify, ack, decision, new_case, reported


async def _notified(notify: Notify, level: RiskLevel = RiskLevel.CRITICAL) -> str:
    case_id = new_case()
    await notify.service.remember_reports(case_id, [reported(case_id)])
    await notify.service.notify(case_id, [decision(case_id, level=level)])
    notify.publisher.records.clear()
    return case_id


async def test_a_silent_recipient_is_resent_and_escalated_until_the_last_resend() -> None:
    notify = Notify()
    case_id = await _notified(notify)
    acknowledged = [n for n in notify.store.sent(case_id) if n.recipient is not Recipient.BZK]
    await notify.service.apply_acks(case_id, [ack(case_id, n.notification_id, n.recipient) for n in acknowledged])
    notify.publisher.records.clear()
    (bzk,) = [n for n in notify.store.sent(case_id) if n.recipient is Recipient.BZK]

    assert await notify.service.escalate_due() == 0, "not due yet"
    notify.clock.advance(ACK_TIMEOUT_S + 1)
    assert await notify.service.escalate_due() == 1, "only the silent one"
    bodies = [(r.topic, json.loads(r.value)) for r in notify.publisher.records]
    assert [(t, b.get("resend_no")) for t, b in bodies if t == notify_topic(Recipient.BZK)] == [
        (notify_topic(Recipient.BZK), 1)
    ]
    notices = [b for t, b in bodies if b.get("escalated_notification_id") == bzk.notification_id]
    assert {n["recipient"] for n in notices} == {"otwb", "jenv"}
    assert [b["status"] for t, b in bodies if t == NOTIFICATION_STATUS] == ["escalated"]
    assert await notify.store.with_outbox(10) == ([], []), "published right after"

    notify.clock.advance(ACK_TIMEOUT_S + 1)
    assert await notify.service.escalate_due() == 1, "the second and last re-send"
    last = await notify.store.peek_notification(bzk.notification_id)
    assert last is not None
    assert last.resend_no == 2
    assert last.due_at is None
    notify.clock.advance(ACK_TIMEOUT_S + 1)
    assert await notify.service.escalate_due() == 0


async def test_a_level_without_acknowledgement_timer_is_never_escalated() -> None:
    notify = Notify()
    await _notified(notify, level=RiskLevel.HIGH)
    notify.clock.advance(10 * ACK_TIMEOUT_S)
    assert await notify.service.escalate_due() == 0
    assert not notify.publisher.records


async def test_an_escalation_left_by_a_broker_outage_is_relayed() -> None:
    notify = Notify()
    await _notified(notify)
    notify.clock.advance(ACK_TIMEOUT_S + 1)
    notify.publisher.failing = True
    fired = await notify.service.escalate_due()
    assert fired == 6, "the state changed; its events wait in the outboxes"
    _, pending = await notify.store.with_outbox(10)
    assert len(pending) == 6
    assert await notify.service.escalate_due() == 0, "not re-sent twice"

    notify.publisher.failing = False
    assert await notify.outboxes.relay() > 0
    assert await notify.store.with_outbox(10) == ([], [])
    assert len({r.headers["ce_id"] for r in notify.publisher.records}) == len(notify.publisher.records)


async def test_a_missing_followup_is_flagged_once_and_not_after_a_followup() -> None:
    notify = Notify()
    flagged = await _notified(notify)
    followed = await _notified(notify)
    await notify.service.record_followups(
        followed, [CaseFollowup(case_id=followed, kind=FollowupKind.AANGIFTE_REGISTERED, organisation="Politie")]
    )
    assert await notify.service.flag_overdue_followups() == 0
    notify.clock.advance(3601)
    assert await notify.service.flag_overdue_followups() == 1
    assert await notify.service.flag_overdue_followups() == 0
    (status,) = [json.loads(r.value) for r in notify.publisher.records]
    (police,) = [n for n in notify.store.sent(flagged) if n.recipient is Recipient.POLICE]
    assert (status["status"], status["notification_id"], status["case_id"]) == (
        "followup_overdue",
        police.notification_id,
        flagged,
    )


async def test_support_follow_ups_do_not_stop_the_aangifte_clock() -> None:
    notify = Notify()
    case_id = await _notified(notify)
    support = [
        CaseFollowup(case_id=case_id, kind=FollowupKind.OTWB_AFTERCARE, organisation="OTWB"),
        CaseFollowup(case_id=case_id, kind=FollowupKind.CCV_SCAN_DONE, organisation="CCV"),
    ]
    await notify.service.record_followups(case_id, support)
    notify.clock.advance(3601)
    assert await notify.service.flag_overdue_followups() == 1, "aftercare and a scan do not answer for the aangifte"


async def test_the_last_resend_counts_as_an_exhausted_escalation() -> None:
    labels = {"recipient": "bzk", "level": "critical"}
    before = REGISTRY.get_sample_value("weerbaar_escalations_exhausted_total", labels) or 0.0
    notify = Notify()
    case_id = await _notified(notify)
    silent = [n for n in notify.store.sent(case_id) if n.recipient is not Recipient.BZK]
    await notify.service.apply_acks(case_id, [ack(case_id, n.notification_id, n.recipient) for n in silent])
    for _ in range(2):  # the harness's policy re-sends twice
        notify.clock.advance(ACK_TIMEOUT_S + 1)
        await notify.service.escalate_due()
    assert REGISTRY.get_sample_value("weerbaar_escalations_exhausted_total", labels) == before + 1
