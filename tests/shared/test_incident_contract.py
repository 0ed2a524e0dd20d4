"""The incident body: what is accepted and what is refused, with the field named."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from shared.contracts.incident import MAX_ATTACHMENT_BYTES, MAX_DESCRIPTION_CHARS, IncidentReport
from tests.support.samples import body


def _error_fields(raw: dict[str, object]) -> set[str]:
    with pytest.raises(ValidationError) as caught:
        IncidentReport.model_validate(raw)
    return {".".join(str(p) for p in err["loc"]) for err in caught.value.errors()}


def test_contract_minimal_body_is_valid() -> None:
    report = IncidentReport.model_validate(body())
    assert report.office_holder.body.code == "GM0344"


def test_future_occurrence_is_refused_naming_the_field() -> None:
    future = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    assert "incident.occurred_at" in _error_fields(body(**{"incident.occurred_at": future}))


def test_body_code_must_match_its_kind() -> None:
    fields = _error_fields(body(**{"office_holder.body": {"kind": "provincie", "code": "GM0344"}}))
    assert "office_holder.body" in fields


def test_empty_types_are_refused() -> None:
    assert "incident.types" in _error_fields(body(**{"incident.types": []}))


def test_unknown_type_is_refused() -> None:
    assert "incident.types.0" in _error_fields(body(**{"incident.types": ["rudeness"]}))


def test_oversized_description_is_refused() -> None:
    fields = _error_fields(body(**{"incident.description": "x" * (MAX_DESCRIPTION_CHARS + 1)}))
    assert "incident.description" in fields


def test_on_behalf_report_needs_the_organisation() -> None:
    assert "reported_by" in _error_fields(body(reported_by={"kind": "on_behalf"}))
    IncidentReport.model_validate(body(reported_by={"kind": "on_behalf", "organisation": "griffie GM0344"}))


def test_unknown_fields_are_refused() -> None:
    assert "surprise" in _error_fields(body(surprise=True))


def test_unknown_province_code_is_refused() -> None:
    assert "office_holder.body" in _error_fields(body(**{"office_holder.body": {"kind": "provincie", "code": "PV99"}}))


def test_oversized_attachment_is_refused_naming_it() -> None:
    big = base64.b64encode(b"x" * (MAX_ATTACHMENT_BYTES + 1)).decode()
    attachment = {"filename": "screenshot.png", "media_type": "image/png", "data_base64": big}
    assert "attachments.0.data_base64" in _error_fields(body(attachments=[attachment]))


def test_attachment_that_is_not_base64_is_refused() -> None:
    attachment = {"filename": "a.txt", "media_type": "text/plain", "data_base64": "not base64!!"}
    assert "attachments.0.data_base64" in _error_fields(body(attachments=[attachment]))


def test_small_attachment_is_accepted() -> None:
    attachment = {"filename": "a.txt", "media_type": "text/plain", "data_base64": base64.b64encode(b"hoi").decode()}
    assert IncidentReport.model_validate(body(attachments=[attachment])).attachments[0].filename == "a.txt"


def test_demo_data_is_always_valid() -> None:
    import random

    from weerbaar import demo

    rng = random.Random(3)
    for _ in range(500):
        IncidentReport.model_validate(demo.incident(rng))


def test_email_updates_need_the_filers_own_address() -> None:
    own = IncidentReport.model_validate(body(email_updates=True))
    assert own.updates_address == "s.devries@example.nl"
    assert IncidentReport.model_validate(body()).updates_address is None, "no consent, no address"
    griffie = {"kind": "on_behalf", "organisation": "Griffie", "email": "griffie@gm0344.example.nl"}
    on_behalf = IncidentReport.model_validate(body(reported_by=griffie, email_updates=True))
    assert on_behalf.updates_address == "griffie@gm0344.example.nl", "the filer, not the office holder"
    with pytest.raises(ValidationError) as refused:
        IncidentReport.model_validate(
            body(reported_by={"kind": "on_behalf", "organisation": "OTWB"}, email_updates=True)
        )
    assert refused.value.errors()[0]["loc"] == ("email_updates",)
