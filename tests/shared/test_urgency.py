"""The acute-lane screen: approach, violence and weapons travel fast; ordinary abuse does not."""

from __future__ import annotations

from typing import Any

from shared.contracts.incident import IncidentReport
from shared.messaging.urgency import possibly_acute
from tests.support.samples import body

CALM: dict[str, Any] = {
    "incident.indicators": {},
    "incident.types": ["verbal_aggression"],
    "incident.description": "Boze mail over het parkeerbeleid",
}


def _report(**changes: Any) -> IncidentReport:
    return IncidentReport.model_validate(body(**{**CALM, **changes}))


def test_ordinary_angry_mail_takes_the_main_lane() -> None:
    assert not possibly_acute(_report())


def test_home_visit_takes_the_acute_lane() -> None:
    assert possibly_acute(_report(**{"incident.indicators": {"home_visited": True}}))


def test_weapon_in_the_text_takes_the_acute_lane() -> None:
    assert possibly_acute(_report(**{"incident.description": "Hij zei dat hij een mes had"}))


def test_threat_that_knows_the_address_takes_the_acute_lane() -> None:
    assert possibly_acute(_report(**{"incident.indicators": {"explicit_threat": True, "home_address_known": True}}))


def test_explicit_threat_alone_takes_the_main_lane() -> None:
    assert not possibly_acute(_report(**{"incident.indicators": {"explicit_threat": True}}))
