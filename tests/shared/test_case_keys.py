"""Crypto-shredding's pure half: a report sealed with its case's key, opened with it, and never sent in clear."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.contracts.envelope import to_record
from shared.contracts.events import IncidentReported
from shared.contracts.incident import IncidentReport
from shared.runtime.errors import InvalidEvent
from shared.security.case_keys import open_report, report_context, sealed
from shared.security.crypto import DecryptionError, new_case_key, open_for_case
from tests.support.samples import unique_body


def _event() -> IncidentReported:
    return IncidentReported(case_id="case-0001-abcd", report=IncidentReport.model_validate(unique_body()))


def test_a_sealed_report_goes_on_the_topic_without_anything_in_clear() -> None:
    event, key = _event(), new_case_key()
    record = to_record(sealed(event, key), source="/test")
    name = event.plain_report.office_holder.name
    assert name.encode() not in record.value
    assert event.plain_report.incident.description.encode() not in record.value
    received = IncidentReported.model_validate_json(record.value)
    assert received.report is None
    assert received.sealed_report
    assert open_report(received, key).plain_report == event.plain_report


def test_a_sealed_report_opens_only_with_its_own_cases_key_and_place() -> None:
    event, key = _event(), new_case_key()
    blob = sealed(event, key).sealed_report
    assert blob is not None
    with pytest.raises(DecryptionError):
        open_for_case(new_case_key(), blob, context=report_context(event.case_id, event.report_id))
    with pytest.raises(DecryptionError):
        open_for_case(key, blob, context=report_context("case-other-0001", event.report_id))
    moved = IncidentReported(case_id="case-other-0001", report_id=event.report_id, sealed_report=blob)
    with pytest.raises(InvalidEvent):
        open_report(moved, key)


def test_a_report_event_holds_exactly_one_form_of_the_report() -> None:
    with pytest.raises(ValidationError):
        IncidentReported(case_id="case-0001-abcd")
    both = sealed(_event(), new_case_key()).model_dump(mode="json")
    with pytest.raises(ValidationError):
        IncidentReported.model_validate(both)
