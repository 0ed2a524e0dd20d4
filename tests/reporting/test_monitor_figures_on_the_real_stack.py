"""The seed's and the monitor's figures on the real stack: shares per role and council term, platform, directed at
the person, functioning and aangifte with their trend, the monitor beside them, and the dashboard that draws them."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo.asynchronous.database import AsyncDatabase

from shared.contracts.events import CaseFacts, CaseFollowup, CaseTriaged, Envelope, FollowupKind, RiskLevel, new_id
from shared.contracts.incident import BodyKind, Channel, DirectedAt, Gender, IncidentType, Platform
from shared.contracts.incident import Role as OfficeRole
from shared.contracts.topics import CASE_TRIAGED
from shared.store.mongo import Document
from shared.web.auth import Role
from tests.reporting.population_fixture import publish
from tests.support.auth import headers, token
from tests.support.endpoints import Endpoints
from tests.support.probe import TopicProbe
from tests.support.samples import unique_body
from tests.support.services import ROOT, RunningServices

pytestmark = pytest.mark.integration
BZK = headers(Role.BZK, org="BZK")
YEARS = range(2021, 2026)  # closed years around the monitor's 2022 and 2024 waves
ROLES = {OfficeRole.RAADSLID: 26, OfficeRole.WETHOUDER: 9, OfficeRole.BURGEMEESTER: 2, OfficeRole.STATENLID: 6}
PLATFORMS = [Platform.X, Platform.FACEBOOK, Platform.FACEBOOK, Platform.INSTAGRAM, Platform.TIKTOK]


@dataclass
class Figures:
    url: str
    case_ids: list[str]

    def cells(self, group_by: str, start: str | None = None, end: str | None = None) -> list[dict[str, Any]]:
        params = {"group_by": group_by, **({"from": start, "to": end} if start else {})}
        response = httpx.get(f"{self.url}/v1/reports/summary", params=params, headers=BZK, timeout=10)
        response.raise_for_status()
        cells: list[dict[str, Any]] = response.json()["cells"]
        return cells


def _cases(rng: random.Random) -> list[Envelope]:
    events: list[Envelope] = []
    for year in YEARS:
        for role, count in ROLES.items():
            for _ in range(count + (rng.randint(0, 3) if count > 4 else 0)):
                online = rng.random() < 0.6
                gender = rng.choice([Gender.VROUW, Gender.MAN])
                at = datetime(year, rng.randint(1, 12), rng.randint(1, 28), 12, tzinfo=UTC)
                kind, code = ("provincie", "PV26") if role is OfficeRole.STATENLID else ("gemeente", "GM0363")
                case_id = new_id()
                events.append(
                    CaseTriaged(
                        case_id=case_id,
                        assessment_no=1,
                        policy_version="monitor",
                        level=rng.choice(list(RiskLevel)),
                        score=1.0,
                        factors=(),
                        routes=(),
                        facts=CaseFacts(
                            office_holder_ref=f"oh_monitor{new_id()[:16]}",
                            role=role,
                            body_kind=BodyKind(kind),
                            body_code=code,
                            gender=gender,
                            types=(IncidentType.VERBAL_AGGRESSION,),
                            channel=Channel.ONLINE if online else Channel.IN_PERSON,
                            occurred_at=at,
                            reported_at=at + timedelta(hours=5),
                            impact_on_functioning=rng.random() < 0.35,
                            wants_aangifte=rng.random() < 0.2,
                            directed_at=DirectedAt.PERSON if gender is Gender.VROUW else DirectedAt.OFFICE,
                            platform=rng.choice(PLATFORMS) if online else None,
                        ),
                        occurred=at + timedelta(hours=6),
                    )
                )
                if rng.random() < 0.15:
                    events.append(
                        CaseFollowup(case_id=case_id, kind=FollowupKind.AANGIFTE_REGISTERED, organisation="politie")
                    )
    return events


@pytest.fixture(scope="module")
async def figures(services: RunningServices, endpoints: Endpoints, store: AsyncDatabase[Document]) -> Figures:
    events = _cases(random.Random())
    await publish(endpoints.kafka_bootstrap, events)
    ids = sorted({e.case_id for e in events if isinstance(e, CaseTriaged)})
    deadline = time.monotonic() + 120
    while await store["reporting_facts"].count_documents({"_id": {"$in": ids}, "assessment_no": 1}) < len(ids):
        assert time.monotonic() < deadline, "reporting did not fold every case in"
        await asyncio.sleep(0.5)
    return Figures(services.url("reporting"), ids)


def test_the_monitor_is_served_as_reference_data_with_its_source(figures: Figures) -> None:
    response = httpx.get(f"{figures.url}/v1/reports/monitor", headers=BZK, timeout=10)
    assert response.status_code == 200
    body = response.json()
    assert "verschillende dingen" in body["note"]
    affected = next(s for s in body["series"] if s["id"] == "affected")
    assert affected["source"].startswith("Monitor Integriteit en Veiligheid")
    assert {"year": 2022, "group": "raadslid", "percent": 45.0, "approx": False, "period": None} in affected["points"]
    aangifte = next(s for s in body["series"] if s["id"] == "aangifte")
    assert [(p["year"], p["percent"]) for p in aangifte["points"]] == [(2014, 13.0), (2022, 7.0)]


def test_share_of_office_holders_affected_per_role_and_council_term(figures: Figures) -> None:
    cells = figures.cells("council_term,role")
    terms = {c["dims"]["council_term"] for c in cells}
    assert {"2018-2022", "2022-2026"} <= terms
    assert "2026-2030" not in terms  # the council term that runs now is not published
    raadsleden = [c for c in cells if c["dims"] == {"council_term": "2022-2026", "role": "raadslid"}]
    (cell,) = raadsleden
    assert not cell["suppressed"]
    assert cell["share_affected"] == pytest.approx(cell["affected_office_holders"] / 8700, abs=1e-4)
    burgemeesters = [
        c for c in figures.cells("year,role", "2023-01-01", "2023-12-31") if c["dims"]["role"] == "burgemeester"
    ]
    assert [c["suppressed"] for c in burgemeesters] == [True]
    assert burgemeesters[0]["share_affected"] is None


def test_platform_is_a_dimension_of_online_incidents(figures: Figures) -> None:
    cells = figures.cells("platform", "2024-01-01", "2024-12-31")
    values = {c["dims"]["platform"] for c in cells}
    assert "n.v.t." in values  # offline incidents
    assert "facebook" in values
    assert values <= {p.value for p in Platform} | {"n.v.t.", "onbekend"}


def test_directed_at_the_person_is_a_dimension(figures: Figures) -> None:
    cells = figures.cells("gender,directed_at", "2022-01-01", "2022-12-31")
    by = {(c["dims"]["gender"], c["dims"]["directed_at"]): c for c in cells}
    assert not by[("vrouw", "person")]["suppressed"]
    assert ("man", "person") not in by


async def test_a_report_says_whether_it_was_aimed_at_the_person_and_on_which_platform(
    services: RunningServices, endpoints: Endpoints
) -> None:
    """Intake validates the new attributes, and triage hands them on in the case's facts (the platform as a code)."""
    probe = TopicProbe(endpoints.kafka_bootstrap, [CASE_TRIAGED])
    await probe.start()
    try:
        async with httpx.AsyncClient(base_url=services.url("intake"), timeout=10) as client:
            bad = unique_body(**{"incident.directed_at": "the neighbours"})
            refused = await client.post("/v1/incidents", json=bad, headers=headers(Role.REPORTER))
            assert refused.status_code == 422
            assert any("directed_at" in str(e.get("field", e)) for e in refused.json()["errors"])
            good = unique_body(**{"incident.directed_at": "person", "incident.platform": "Facebook-groep van het dorp"})
            accepted = await client.post("/v1/incidents", json=good, headers=headers(Role.REPORTER))
            assert accepted.status_code == 201, accepted.text
        case_id = accepted.json()["case_id"]
        (seen, *_) = await probe.wait_for(CASE_TRIAGED, case_id, timeout=60)
        facts = seen.json()["facts"]
        assert facts["directed_at"] == "person"
        assert facts["platform"] == "facebook"
        assert "dorp" not in seen.value.decode()  # the free text stays at intake
    finally:
        await probe.stop()


def test_dashboard_shows_the_monitor_beside_weerbaars_figures_with_suppression_marked(
    figures: Figures, tmp_path: Path
) -> None:
    from tests.reporting.browser import render

    url = f"{figures.url}/dashboard?from=2024-01-01&to=2024-12-31&access_token={token(Role.BZK)}"
    artifacts = ROOT / ".artifacts"
    artifacts.mkdir(exist_ok=True)
    dom = render(url, screenshot=artifacts / "dashboard-monitor.png", profile=tmp_path)

    def chart(name: str) -> str:
        assert f'data-chart="{name}"' in dom, name
        return dom.split(f'data-chart="{name}"', 1)[1].split("</svg>", 1)[0]

    survey = chart("monitor")
    assert 'data-series="Raadsleden" data-x="2022" data-value="45"' in survey
    assert 'data-series="Burgemeesters" data-x="2022" data-value="77"' in survey
    own = chart("monitor_weerbaar")
    assert 'data-series="Raadsleden" data-x="2023"' in own
    assert 'data-suppressed="true" data-series="Burgemeesters"' in own  # shown as suppressed, not as zero
    assert 'data-note="monitor"' in dom
    shares = chart("shares")
    assert 'data-series="functioneren beïnvloed (weerbaar)"' in shares
    assert 'data-series="aangifte gedaan (monitor)" data-x="2022" data-value="7"' in shares
    for name in ("platform", "directed", "term"):
        assert "data-value=" in chart(name), name
    assert "willekeurig afgerond" in dom
    assert (artifacts / "dashboard-monitor.png").stat().st_size > 10_000
