"""Per-recipient projections: only the police sees identity and contact; ids are stable."""

from __future__ import annotations

from datetime import UTC, datetime

from services.notify import domain
from shared.contracts.events import CaseFacts, CaseTriaged, Factor, RiskLevel, Route
from shared.contracts.incident import IncidentReport
from shared.contracts.topics import Recipient
from tests.support.samples import CONTRACT_BODY

REPORT = IncidentReport.model_validate(CONTRACT_BODY)
PERSONAL_VALUES = ("A. Voorbeeld", "s.devries@example.nl", "we weten waar je woont")


def _triaged(number: int = 1) -> CaseTriaged:
    return CaseTriaged(
        case_id="case-0001-abcd",
        assessment_no=number,
        policy_version="test",
        level=RiskLevel.HIGH,
        score=55,
        factors=(Factor(code="indicator.home_address_known", weight=25, explanation="address known"),),
        routes=tuple(Route(recipient=r, reason="test") for r in Recipient),
        facts=CaseFacts(
            office_holder_ref="oh_x",
            role=REPORT.office_holder.role,
            body_kind=REPORT.office_holder.body.kind,
            body_code="GM0344",
            gender=REPORT.office_holder.gender,
            types=tuple(REPORT.incident.types),
            channel=REPORT.incident.channel,
            occurred_at=REPORT.incident.occurred_at,
            reported_at=datetime.now(UTC),
            impact_on_functioning=True,
            wants_aangifte=True,
        ),
    )


def test_police_notification_carries_what_an_aangifte_needs() -> None:
    police = domain.project(_triaged(), REPORT, Recipient.POLICE, "aangifte").model_dump_json()
    assert all(value in police for value in PERSONAL_VALUES)


def test_no_other_recipient_sees_personal_data() -> None:
    for recipient in Recipient:
        if recipient is Recipient.POLICE:
            continue
        text = domain.project(_triaged(), REPORT, recipient, "x").model_dump_json()
        leaked = [value for value in PERSONAL_VALUES if value in text]
        assert not leaked, f"{recipient} sees {leaked}"


def test_same_decision_gives_the_same_notification_id() -> None:
    first = domain.project(_triaged(), REPORT, Recipient.OM, "x").notification_id
    again = domain.project(_triaged(), REPORT, Recipient.OM, "x").notification_id
    assert first == again
    assert domain.project(_triaged(2), REPORT, Recipient.OM, "x").notification_id != first
    assert domain.project(_triaged(), REPORT, Recipient.JENV, "x").notification_id != first
