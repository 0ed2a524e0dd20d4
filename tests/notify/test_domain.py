"""Per-recipient projections: each recipient sees exactly its allowed fields; ids are stable."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import get_args

import pytest

from services.notify import domain
from shared.contracts.events import CaseFacts, CaseTriaged, Factor, NotificationState, RiskLevel, Route
from shared.contracts.incident import IncidentReport
from shared.contracts.notifications import RECIPIENT_MODELS, EscalationNotice, NotificationNotice, on_the_wire
from shared.contracts.topics import Recipient
from tests.support.samples import body

REPORT = IncidentReport.model_validate(
    body(**{"office_holder.contact": {"email": "s.devries@example.nl", "phone": "+31 6 1234 5678"}})
)
NAME, EMAIL, PHONE, TEXT = "A. Voorbeeld", "s.devries@example.nl", "+31 6 1234 5678", "we weten waar je woont"

BASE_FIELDS = {
    "schema_version",
    "event_id",
    "occurred",
    "case_id",
    "notification_id",
    "recipient",
    "level",
    "reasons",
    "policy_version",
    "resend_no",
}
ALLOWED_FIELDS: dict[Recipient, set[str]] = {
    Recipient.POLICE: {
        "office_holder_name",
        "office_holder_role",
        "body_kind",
        "body_code",
        "contact_email",
        "contact_phone",
        "incident_types",
        "channel",
        "platform",
        "occurred_at",
        "reported_at",
        "description",
        "perpetrator",
        "circumstances",
        "wants_aangifte",
        "factors",
        "aangifte",
    },
    Recipient.OM: {
        "office_holder_ref",
        "office_holder_role",
        "body_kind",
        "body_code",
        "incident_types",
        "channel",
        "platform",
        "occurred_at",
        "reported_at",
        "perpetrator",
        "circumstances",
        "qualifications",
        "wants_aangifte",
        "factors",
    },
    Recipient.JENV: {
        "office_holder_ref",
        "office_holder_role",
        "body_kind",
        "body_code",
        "incident_types",
        "channel",
        "occurred_at",
        "home_involved",
        "meeting_related",
        "factors",
    },
    Recipient.BURGEMEESTER: {
        "municipality",
        "office_holder_name",
        "office_holder_role",
        "body_kind",
        "body_code",
        "incident_types",
        "channel",
        "occurred_at",
        "home_involved",
        "meeting_related",
        "factors",
    },
    Recipient.BZK: {"office_holder_role", "body_kind", "incident_types", "online", "occurred_month"},
    Recipient.OTWB: {
        "office_holder_name",
        "office_holder_role",
        "body_kind",
        "body_code",
        "contact_email",
        "contact_phone",
        "reported_by",
        "reported_by_organisation",
        "incident_types",
        "channel",
        "occurred_at",
        "impact_on_functioning",
        "wants_aangifte",
    },
    Recipient.CCV: {
        "office_holder_name",
        "office_holder_role",
        "body_code",
        "contact_email",
        "contact_phone",
        "home_involved",
        "home_visited",
        "family_targeted",
        "digital_exposure",
    },
}
# Which personal values each recipient may see; everything else must not appear anywhere in its record.
ALLOWED_PERSONAL: dict[Recipient, set[str]] = {
    Recipient.POLICE: {NAME, EMAIL, PHONE, TEXT},
    Recipient.OM: set(),
    Recipient.JENV: set(),
    Recipient.BURGEMEESTER: {NAME},
    Recipient.BZK: set(),
    Recipient.OTWB: {NAME, EMAIL, PHONE},
    Recipient.CCV: {NAME, EMAIL, PHONE},
}


def _triaged(number: int = 1, level: RiskLevel = RiskLevel.CRITICAL) -> CaseTriaged:
    return CaseTriaged(
        case_id="case-0001-abcd",
        assessment_no=number,
        policy_version="test",
        level=level,
        score=75,
        factors=(Factor(code="indicator.home_address_known", weight=25, explanation="address known"),),
        routes=tuple(Route(recipient=r, reason="test") for r in Recipient),
        facts=CaseFacts(
            office_holder_ref="oh_0123456789abcdef",
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


@pytest.mark.parametrize("recipient", list(Recipient))
def test_each_recipient_model_has_exactly_its_allowed_fields(recipient: Recipient) -> None:
    assert set(RECIPIENT_MODELS[recipient].model_fields) == BASE_FIELDS | ALLOWED_FIELDS[recipient]


@pytest.mark.parametrize("recipient", list(Recipient))
def test_personal_values_appear_only_where_allowed(recipient: Recipient) -> None:
    notification = domain.project(_triaged(), REPORT, recipient, "x")
    assert type(notification) is RECIPIENT_MODELS[recipient]
    text = notification.model_dump_json()
    for value in (NAME, EMAIL, PHONE, TEXT):
        if value in ALLOWED_PERSONAL[recipient]:
            assert value in text, f"{recipient} should see {value!r}"
        else:
            assert value not in text, f"{recipient} must not see {value!r}"


def test_bzk_sees_neither_body_code_nor_gender_nor_pseudonym() -> None:
    text = domain.project(_triaged(), REPORT, Recipient.BZK, "x").model_dump_json()
    assert "GM0344" not in text
    assert "vrouw" not in text
    assert "oh_" not in text


def test_police_gets_a_modelaangifte_when_one_is_wanted() -> None:
    police = domain.project(_triaged(), REPORT, Recipient.POLICE, "aangifte")
    aangifte = police.model_dump()["aangifte"]
    assert aangifte["aangever_name"] == NAME
    assert aangifte["correspondence"]["choice"] == "office"
    assert [q["article"] for q in aangifte["qualifications"]] == ["art. 285 Sr"]
    assert aangifte["evidence"], "an evidence checklist is pre-filled"
    without = IncidentReport.model_validate(body(wants_aangifte=False))
    assert domain.project(_triaged(), without, Recipient.POLICE, "risk").model_dump()["aangifte"] is None


def test_same_decision_gives_the_same_notification_id() -> None:
    first = domain.project(_triaged(), REPORT, Recipient.OM, "x").notification_id
    again = domain.project(_triaged(), REPORT, Recipient.OM, "x").notification_id
    assert first == again
    assert domain.project(_triaged(2), REPORT, Recipient.OM, "x").notification_id != first
    assert domain.project(_triaged(), REPORT, Recipient.JENV, "x").notification_id != first


def test_a_resend_keeps_the_notification_id_and_counts() -> None:
    original = domain.project(_triaged(), REPORT, Recipient.POLICE, "x")
    again = domain.resent(original, 1)
    assert again.notification_id == original.notification_id
    assert again.event_id != original.event_id
    assert again.resend_no == 1


def test_escalation_goes_to_otwb_and_jenv_without_personal_data() -> None:
    silent = domain.project(_triaged(), REPORT, Recipient.POLICE, "x")
    notices = domain.escalation_notices(silent, resend_no=1, first_sent_at=datetime.now(UTC), ack_timeout_s=2)
    assert {n.recipient for n in notices} == {Recipient.OTWB, Recipient.JENV}
    assert all(
        isinstance(n, EscalationNotice) and n.escalated_notification_id == silent.notification_id for n in notices
    )
    assert all(NAME not in n.model_dump_json() for n in notices)
    jenv = domain.project(_triaged(), REPORT, Recipient.JENV, "x")
    only_otwb = domain.escalation_notices(jenv, resend_no=1, first_sent_at=datetime.now(UTC), ack_timeout_s=2)
    assert [n.recipient for n in only_otwb] == [Recipient.OTWB]


def test_status_event_ids_are_deterministic() -> None:
    silent = domain.project(_triaged(), REPORT, Recipient.OM, "x")
    first = domain.status(silent, NotificationState.ACKNOWLEDGED)
    assert first.event_id == domain.status(silent, NotificationState.ACKNOWLEDGED).event_id
    assert first.event_id != domain.status(silent, NotificationState.ESCALATED, occurrence=1).event_id


@pytest.mark.parametrize("recipient", list(Recipient))
def test_what_a_recipient_s_topic_carries_holds_no_personal_data_and_says_where_the_whole_is(
    recipient: Recipient,
) -> None:
    triaged = _triaged()
    notification = domain.project(triaged, REPORT, recipient, "route reason")
    wire = on_the_wire(notification)
    text = wire.model_dump_json()
    for value in (NAME, EMAIL, PHONE, TEXT, triaged.facts.office_holder_ref):
        assert value not in text, f"{recipient}'s topic must not carry {value!r}"
    assert (wire.event_id, wire.notification_id, wire.level) == (
        notification.event_id,
        notification.notification_id,
        notification.level,
    )
    if recipient is Recipient.BZK:
        assert wire is notification, "nothing personal in it: BZK's topic carries it whole"
    else:
        assert isinstance(wire, NotificationNotice)
        assert wire.details == f"/v1/notifications/{notification.notification_id}/details"


def test_the_details_endpoint_answers_with_exactly_the_recipient_models() -> None:
    from services.notify.handlers import RecipientNotification

    assert set(get_args(RecipientNotification)) == set(RECIPIENT_MODELS.values())
