"""The report's new attributes as figures see them: directed at the person, the platform of online incidents."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.reporting.facts import FactSheet
from services.reporting.store import FactSheetCodec
from shared.contracts.events import CaseFacts, CaseTriaged, RiskLevel
from shared.contracts.incident import BodyKind, Channel, DirectedAt, Gender, IncidentType, Platform, Role, platform_of


@pytest.mark.parametrize(
    ("text", "platform"),
    [
        ("Twitter", Platform.X),
        ("X", Platform.X),
        ("Facebook-groep", Platform.FACEBOOK),
        ("TikTok", Platform.TIKTOK),
        ("per e-mail", Platform.EMAIL),
        ("een forum", Platform.OTHER),
        ("  ", None),
        (None, None),
    ],
)
def test_free_text_platforms_map_onto_the_vocabulary(text: str | None, platform: Platform | None) -> None:
    assert platform_of(text) == platform


def _triaged(channel: Channel, platform: Platform | None, directed_at: DirectedAt = DirectedAt.PERSON) -> CaseTriaged:
    at = datetime(2022, 5, 1, 12, tzinfo=UTC)
    return CaseTriaged(
        case_id="case-attributes",
        assessment_no=1,
        policy_version="t",
        level=RiskLevel.LOW,
        score=0.0,
        factors=(),
        routes=(),
        facts=CaseFacts(
            office_holder_ref="oh_x",
            role=Role.RAADSLID,
            body_kind=BodyKind.GEMEENTE,
            body_code="GM0344",
            gender=Gender.VROUW,
            types=(IncidentType.THREAT,),
            channel=channel,
            occurred_at=at,
            reported_at=at,
            impact_on_functioning=False,
            wants_aangifte=False,
            directed_at=directed_at,
            platform=platform,
        ),
    )


def test_an_online_incident_has_its_platform_and_an_offline_one_none() -> None:
    online, offline = FactSheet("a"), FactSheet("b")
    online.take(_triaged(Channel.ONLINE, Platform.TIKTOK))
    offline.take(_triaged(Channel.AT_HOME, None, DirectedAt.OFFICE))
    assert online.fact() is not None
    assert offline.fact() is not None
    assert online.fact().dims["platform"] == "tiktok"  # type: ignore[union-attr]
    assert offline.fact().dims["platform"] == "n.v.t."  # type: ignore[union-attr]
    assert online.fact().dims["directed_at"] == "person"  # type: ignore[union-attr]
    assert offline.fact().dims["council_term"] == "2022-2026"  # type: ignore[union-attr]


def test_facts_written_before_the_attributes_existed_read_as_unknown() -> None:
    codec = FactSheetCodec()
    sheet = FactSheet("c")
    sheet.take(_triaged(Channel.ONLINE, None))
    document = {**codec.to_document(sheet), "_id": "c"}
    del document["directed_at"], document["platform"]
    fact = codec.from_document(document).fact()
    assert fact is not None
    assert fact.dims["directed_at"] == "unknown"
    assert fact.dims["platform"] == "onbekend"
    assert codec.from_document({**codec.to_document(sheet), "_id": "c"}).triage == sheet.triage
