"""What an office holder reads about their own case: the stage, what comes next, help that fits (from data)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from services.intake.domain import Case
from services.intake.guidance import Stage, for_reporter, guidance, stage_of, tell_reporters
from services.intake.values import Actor
from shared.contracts.events import CaseFollowup, FollowupKind, NotificationState, NotificationStatus, RiskLevel
from shared.contracts.topics import Recipient
from tests.intake.events import bulk_report, triaged

NOW = datetime(2026, 11, 21, tzinfo=UTC)
SEED_LINKS = {
    "https://www.weerbaarbestuur.nl/producten-en-diensten/steunpakket-preventie",
    "https://weerbaarbestuur.nl/producten-en-diensten/stappenplan-melding-en-aangifte-voor-politieke-ambtsdragers",
    "https://www.weerbaarbestuur.nl",
}


def test_the_stage_follows_the_case_from_received_to_closed() -> None:
    case_id = uuid.uuid4().hex
    case = Case(case_id)
    case.take_report(bulk_report(case_id), now=NOW, links=[])
    assert stage_of(case) is Stage.RECEIVED
    case.record_triage(triaged(case_id, routes=(Recipient.POLICE,)), now=NOW)
    assert stage_of(case) is Stage.ASSESSED
    sent = NotificationStatus(
        case_id=case_id, notification_id="n1", recipient=Recipient.POLICE, status=NotificationState.SENT,
        level=RiskLevel.HIGH,
    )  # fmt: skip
    case.record_notification(sent, now=NOW)
    assert stage_of(case) is Stage.POLICE_INFORMED
    case.add_followup(FollowupKind.OTWB_AFTERCARE, by=Actor("d", "otwb"), now=NOW)
    assert stage_of(case) is Stage.POLICE_INFORMED, "aftercare is no follow-up of the aangifte"
    case.record_followup(
        CaseFollowup(case_id=case_id, kind=FollowupKind.AANGIFTE_REGISTERED, organisation="Politie"), now=NOW
    )
    assert stage_of(case) is Stage.AANGIFTE_FOLLOWUP
    case.close("klaar", by=Actor("p", "police"), now=NOW, ack_levels=())
    assert for_reporter(case)["stage"] == "closed"


def test_help_fits_the_case_and_links_only_what_the_sources_name() -> None:
    case_id = uuid.uuid4().hex
    online = Case(case_id)
    online.take_report(bulk_report(case_id), now=NOW, links=[])  # online, home address known, aangifte wanted
    ids = [r["id"] for r in for_reporter(online)["resources"]]
    assert ids == [
        "otwb_hulplijn", "steunpakket_online_agressie", "stappenplan_melding_aangifte", "ccv_veiligheidsscan",
        "ccv_zelfscan",
    ]  # fmt: skip
    offline = Case(case_id)
    offline.take_report(
        bulk_report(case_id, **{"incident.channel": "at_meeting", "incident.indicators": {}, "wants_aangifte": False}),
        now=NOW,
        links=[],
    )
    assert [r["id"] for r in for_reporter(offline)["resources"]] == ["otwb_hulplijn", "ccv_zelfscan"]
    for resource in guidance().resources:
        assert resource.url is None or resource.url in SEED_LINKS
        assert resource.phone is None, "no phone number is in the sources: link only"
        assert not re.search(r"\d{3}[- ]?\d{3,}", resource.text), "no number hidden in the text either"


def test_a_change_of_stage_is_told_only_when_a_filer_consented_and_once_per_change() -> None:
    case_id = uuid.uuid4().hex
    consenting = Case(case_id)
    consenting.take_report(bulk_report(case_id, email_updates=True), now=NOW, links=[])
    told = tell_reporters(consenting, now=NOW)
    assert told is not None
    assert (told.stage, told.report_ids) == (Stage.RECEIVED, (consenting.reports[0].report_id,))
    assert tell_reporters(consenting, now=NOW) is None, "the same stage is told once"
    consenting.record_triage(triaged(case_id, routes=(Recipient.POLICE,)), now=NOW)
    assessed = tell_reporters(consenting, now=NOW)
    assert assessed is not None
    assert assessed.stage is Stage.ASSESSED
    assert [o.record.topic for o in consenting.outbox][-2:] == ["weerbaar.case.stage.v1"] * 2
    assert b"@" not in consenting.outbox[-1].record.value, "no address on the stream: notify keeps it"

    silent = Case(case_id)
    silent.take_report(bulk_report(case_id), now=NOW, links=[])
    assert tell_reporters(silent, now=NOW) is None
    assert not silent.outbox
