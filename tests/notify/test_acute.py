"""The acute lane on in-memory fakes: the police first, one store command each for report and police."""

from __future__ import annotations

import json

import pytest

from services.notify.errors import CaseDetailsNotYetKnown
from shared.contracts.events import PoliceNotification
from shared.contracts.topics import NOTIFICATION_STATUS, Recipient, notify_topic
from tests.notify.harness import CRITICAL_ROUTES, Notify, decision, new_case, reported

POLICE_TOPIC = notify_topic(Recipient.POLICE)


async def test_an_urgent_decision_stores_and_publishes_the_police_before_any_other_recipient() -> None:
    notify = Notify()
    case_id = new_case()
    await notify.acute.remember_report(reported(case_id))
    assert dict(notify.store.writes) == {"cases.add": 1}, "the report opens the case: one insert, no read"

    await notify.acute.notify(decision(case_id))
    assert notify.publisher.topics() == [POLICE_TOPIC, NOTIFICATION_STATUS], "only the police before it returns"
    assert [n.recipient for n in notify.store.sent(case_id)] == [Recipient.POLICE]
    assert dict(notify.store.writes) == {"cases.add": 1, "notifications.insert_one": 1}

    await notify.behind_the_police()
    assert {n.recipient for n in notify.store.sent(case_id)} == set(CRITICAL_ROUTES)
    assert len(notify.publisher.records) == 2 * len(CRITICAL_ROUTES), "each notification and its status, once"


async def test_the_main_topic_copies_of_an_acute_case_add_nothing() -> None:
    notify = Notify()
    case_id = new_case()
    await notify.acute.remember_report(reported(case_id))
    await notify.acute.notify(decision(case_id))
    await notify.behind_the_police()
    writes, published = dict(notify.store.writes), list(notify.publisher.records)

    await notify.service.remember_reports(case_id, [reported(case_id)])
    await notify.service.notify(case_id, [decision(case_id)])
    assert dict(notify.store.writes) == writes
    assert notify.publisher.records == published


async def test_an_urgent_report_of_a_case_with_a_stored_report_leaves_the_first_one_in_charge() -> None:
    notify = Notify()
    case_id = new_case()
    await notify.service.remember_reports(case_id, [reported(case_id)])
    await notify.acute.remember_report(reported(case_id, **{"office_holder.name": "B. Later"}))
    await notify.acute.notify(decision(case_id))
    (police,) = [n.sent() for n in notify.store.sent(case_id) if n.recipient is Recipient.POLICE]
    assert isinstance(police, PoliceNotification)
    assert police.office_holder_name == "A. Voorbeeld"


async def test_the_police_topic_carries_a_notice_without_personal_data_and_the_store_keeps_the_whole() -> None:
    notify = Notify()
    case_id = new_case()
    await notify.acute.remember_report(reported(case_id))
    await notify.acute.notify(decision(case_id))
    (record,) = [r for r in notify.publisher.records if r.topic == POLICE_TOPIC]
    notice = json.loads(record.value)
    (police,) = notify.store.sent(case_id)
    assert notice["details"] == f"/v1/notifications/{police.notification_id}/details"
    assert notice["level"] == "critical"
    assert "A. Voorbeeld" not in record.value.decode()
    assert not {"office_holder_name", "contact_email", "contact_phone", "description", "aangifte"} & set(notice)
    assert record.headers["ce_type"] == b"nl.weerbaar.notify.notice.v1"


async def test_an_urgent_decision_before_its_report_waits_for_it() -> None:
    notify = Notify()
    case_id = new_case()
    with pytest.raises(CaseDetailsNotYetKnown):
        await notify.acute.notify(decision(case_id))
    assert not notify.publisher.records
    await notify.acute.remember_report(reported(case_id))
    await notify.acute.notify(decision(case_id))
    assert notify.publisher.topics()[0] == POLICE_TOPIC


@pytest.mark.parametrize("reported_before_erasure", [True, False])
async def test_an_erased_case_gets_no_acute_notification(reported_before_erasure: bool) -> None:
    notify = Notify()
    case_id = new_case()
    if reported_before_erasure:
        await notify.acute.remember_report(reported(case_id))
    await notify.service.forget_case(case_id)
    await notify.acute.remember_report(reported(case_id))
    await notify.acute.notify(decision(case_id))
    await notify.behind_the_police()
    assert not notify.publisher.records
    assert not notify.store.sent(case_id)
