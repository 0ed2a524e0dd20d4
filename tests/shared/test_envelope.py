"""Events travel as JSON values with CloudEvents headers, keyed by case id."""

from __future__ import annotations

import pytest

from shared.contracts.envelope import parse_value, to_record
from shared.contracts.events import IncidentReported, NotificationAck
from shared.contracts.incident import IncidentReport
from shared.contracts.topics import INCIDENT_REPORTED, Recipient
from shared.runtime.errors import InvalidEvent
from tests.support.samples import body


def _event() -> IncidentReported:
    return IncidentReported(case_id="case-0001-abcd", report=IncidentReport.model_validate(body()))


def test_record_carries_cloudevents_headers_and_case_key() -> None:
    event = _event()
    record = to_record(event, source="/weerbaar/test")
    assert record.topic == INCIDENT_REPORTED
    assert record.key == b"case-0001-abcd"
    assert record.headers["ce_specversion"] == b"1.0"
    assert record.headers["ce_id"] == event.event_id.encode()
    assert record.headers["ce_type"] == b"nl.weerbaar.incident.reported.v1"
    assert record.headers["ce_subject"] == b"case-0001-abcd"
    assert record.headers["ce_source"] == b"/weerbaar/test"
    assert record.headers["ce_time"].startswith(event.occurred.strftime("%Y-%m-%dT").encode())
    assert record.headers["content-type"] == b"application/json"


def test_record_round_trips_to_an_equal_event() -> None:
    event = _event()
    record = to_record(event, source="/weerbaar/test")
    assert parse_value(IncidentReported, record.value, record.headers) == event


def test_invalid_value_names_the_field_at_fault() -> None:
    with pytest.raises(InvalidEvent, match=r"report\.incident"):
        parse_value(IncidentReported, b'{"case_id": "case-0001-abcd", "report": {"incident": 1}}', {})


def test_value_that_is_not_json_is_invalid() -> None:
    with pytest.raises(InvalidEvent):
        parse_value(IncidentReported, b"\x00\xff not json", {})


def test_event_of_another_type_is_invalid() -> None:
    ack = NotificationAck(
        case_id="case-0001-abcd", notification_id="n1", recipient=Recipient.POLICE, acknowledged_by="politie"
    )
    record = to_record(ack, source="/x")
    with pytest.raises(InvalidEvent, match="ce_type"):
        parse_value(IncidentReported, record.value, record.headers)
