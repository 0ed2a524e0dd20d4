"""What an office holder reads about their own case: the stage, what comes next, help that fits (from data)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from services.intake.domain import Case
from services.intake.guidance import Stage, for_reporter, guidance, stage_of
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
