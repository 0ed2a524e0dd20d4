"""Notify's e-mail use cases with in-memory fakes: which e-mails are queued, for whom, and what erasure leaves."""

from __future__ import annotations

import pytest

from services.notify.errors import CaseDetailsNotYetKnown
from services.notify.mail import Links, MailPurpose, MailState
from services.notify.model import NotifyPolicy
from shared.contracts.events import IncidentReported, RiskLevel
from shared.contracts.topics import Recipient
from shared.contracts.workflow import CaseStageChanged, ReporterStage
from tests.notify.harness import ACK_TIMEOUT_S, Notify, decision, new_case, reported

OFFICE = "oov@gm0344.example.nl"
FILER = "melder@example.nl"


def _notify() -> Notify:
    return Notify(
        policy=NotifyPolicy(
            escalate_levels=frozenset({RiskLevel.CRITICAL}),
            ack_timeout_s=ACK_TIMEOUT_S,
            ack_max_resends=2,
            followup_deadline_s=3600.0,
            email_addresses={"burgemeester:GM0344": OFFICE},
            links=Links("https://intake.example.nl", "https://notify.example.nl"),
        )
    )


def _consenting(case_id: str) -> tuple[str, IncidentReported]:
    report = reported(case_id, **{"office_holder.contact": {"email": FILER}, "email_updates": True})
    return report.report_id, report


async def test_a_recipient_named_for_email_gets_its_notification_and_a_reminder_per_resend() -> None:
    notify, case_id = _notify(), new_case()
    await notify.service.remember_reports(case_id, [reported(case_id)])
    await notify.service.notify(case_id, [decision(case_id, level=RiskLevel.CRITICAL)])
    await notify.service.notify(case_id, [decision(case_id, level=RiskLevel.CRITICAL)])  # redelivered
    (first,) = [await notify.store.peek_mail(m) for m in await notify.store.mail_ids_of(case_id)]
    assert first is not None
    assert (first.to, first.recipient, first.purpose) == (OFFICE, Recipient.BURGEMEESTER, MailPurpose.NOTIFICATION)
    notify.clock.advance(ACK_TIMEOUT_S + 1)
    assert await notify.service.escalate_due() == len(notify.store.sent(case_id))
    mails = [await notify.store.peek_mail(m) for m in await notify.store.mail_ids_of(case_id)]
    assert sorted(m.subject for m in mails if m is not None)[-1].endswith("(herinnering 1: nog niet bevestigd)")


async def test_each_change_of_stage_is_one_email_to_the_filer_who_consented_and_erasure_takes_it_back() -> None:
    notify, case_id = _notify(), new_case()
    report_id, report = _consenting(case_id)
    await notify.service.remember_reports(case_id, [report, reported(case_id)])  # and one without consent
    change = CaseStageChanged(
        case_id=case_id, stage=ReporterStage.RECEIVED, report_ids=(report_id,), occurred=notify.clock()
    )
    await notify.service.tell_reporters(case_id, [change, change])
    (mail_id,) = await notify.store.mail_ids_of(case_id)
    queued = await notify.store.peek_mail(mail_id)
    assert queued is not None
    assert (queued.to, queued.purpose) == (FILER, MailPurpose.REPORTER)
    assert queued.body.count("https://intake.example.nl/reporter/cases/") == 1

    await notify.service.forget_case(case_id, (report_id,))
    erased = await notify.store.peek_mail(mail_id)
    assert erased is not None
    assert (erased.to, erased.state) == (None, MailState.ERASED)
    case = await notify.store.peek_case(case_id)
    assert case is not None
    assert not case.contacts


async def test_a_change_of_stage_waits_briefly_for_its_report_then_lets_go() -> None:
    notify, case_id = _notify(), new_case()
    change = CaseStageChanged(case_id=case_id, stage=ReporterStage.CLOSED, report_ids=("r1",), occurred=notify.clock())
    with pytest.raises(CaseDetailsNotYetKnown):
        await notify.service.tell_reporters(case_id, [change])
    notify.clock.advance(31)  # a report still unknown by now never comes (a log read again): no stall
    await notify.service.tell_reporters(case_id, [change])
    assert await notify.store.mail_ids_of(case_id) == []
