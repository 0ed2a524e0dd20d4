"""Case-file rules: status only moves forward; request fingerprints tell retries from new requests."""

from __future__ import annotations

from services.intake import domain
from services.intake.values import CaseStatus
from shared.contracts.incident import IncidentReport
from tests.support.samples import body


def test_status_never_moves_backwards() -> None:
    assert domain.advance("received", CaseStatus.TRIAGED) == "triaged"
    assert domain.advance("notified", CaseStatus.TRIAGED) == "notified"
    assert domain.advance("in_follow_up", CaseStatus.NOTIFIED) == "in_follow_up"


def test_same_body_has_the_same_fingerprint_and_another_body_another() -> None:
    first = domain.body_fingerprint(IncidentReport.model_validate(body()))
    again = domain.body_fingerprint(IncidentReport.model_validate(body()))
    other = domain.body_fingerprint(IncidentReport.model_validate(body(wants_aangifte=False)))
    assert first == again
    assert first != other
