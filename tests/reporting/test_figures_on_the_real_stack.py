"""Reporting on the real broker and store: a generated population in, disclosure-controlled figures out."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from services.reporting.app import disclosure_of
from services.reporting.settings import Settings as ReportingSettings
from shared.contracts.topics import REPORT_STATS
from shared.web.auth import Role
from tests.reporting.population_fixture import Generated, generate, publish
from tests.support.auth import headers, token
from tests.support.endpoints import Endpoints
from tests.support.probe import TopicProbe
from tests.support.services import ROOT, RunningServices

pytestmark = pytest.mark.integration
THRESHOLD = 5
# The services run in dev mode: the rounding's key derives from the checkout's dev pseudonym key, so the test can
# compute it (the services' environment has no WEERBAAR_* but the ones tests/support/services.py sets).
ROUNDING = disclosure_of(ReportingSettings(dev_mode=True, pseudonym_key=None)).rounding
BASE = ROUNDING.base
POPULATION = yaml.safe_load((ROOT / "services/reporting/population.yaml").read_text())["roles"]

BZK = headers(Role.BZK, org="BZK")  # reports are for the ministry (and jenv, admin)


@dataclass
class Published:
    data: Generated
    url: str
    probe: TopicProbe

    def params(self, group_by: str) -> dict[str, str]:
        return {"from": f"{self.data.year}-01-01", "to": f"{self.data.year}-12-31", "group_by": group_by}

    def cells(self, group_by: str) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.url}/v1/reports/summary", params=self.params(group_by), timeout=10, headers=BZK)
        response.raise_for_status()
        cells: list[dict[str, Any]] = response.json()["cells"]
        return cells


def _mismatches(published: Published, group_by: str) -> list[str]:
    """Differences between the API's cells and the independently computed ones (suppression and rounding included)."""
    dims = group_by.split(",")
    expected = published.data.expected(*dims)
    behind = published.data.contributors(*dims)
    got = {tuple(c["dims"][d] for d in dims): c for c in published.cells(group_by)}
    problems = []
    if set(got) != set(expected):
        problems.append(f"{group_by}: cells {sorted(got)} != {sorted(expected)}")
    for key, (incidents, affected) in expected.items():
        cell = got.get(key)
        if cell is None:
            continue
        small = incidents < THRESHOLD or affected < THRESHOLD
        if small != cell["suppressed"]:
            problems.append(f"{key}: {incidents}/{affected} suppressed {cell['suppressed']} (threshold {THRESHOLD})")
        if cell["suppressed"]:
            if cell["incidents"] is not None or cell["affected_office_holders"] is not None:
                problems.append(f"{key}: suppressed but carries counts")
            continue
        cases, refs = behind[key]
        rounded = (ROUNDING.round(incidents, "incidents", cases), ROUNDING.round(affected, "affected", refs))
        if (cell["incidents"], cell["affected_office_holders"]) != rounded:
            problems.append(f"{key}: {cell['incidents']}/{cell['affected_office_holders']} != {rounded}")
        if cell["incidents"] % BASE or abs(cell["incidents"] - incidents) >= BASE:
            problems.append(f"{key}: {cell['incidents']} is not {incidents} rounded to a multiple of {BASE}")
    return problems


def _response_mismatches(published: Published) -> list[str]:
    problems = []
    for cell in published.cells("risk_level"):
        want = published.data.response_percentiles(cell["dims"]["risk_level"])
        p50, p90 = cell["minutes_to_notification_p50"], cell["minutes_to_notification_p90"]
        if cell["suppressed"] or want is None:
            if p50 is not None:
                problems.append(f"{cell['dims']}: percentiles shown for too few samples")
            continue
        if p50 is None or abs(p50 - want[0]) > 0.11 or abs(p90 - want[1]) > 0.11:
            problems.append(f"{cell['dims']}: p50/p90 {p50}/{p90} != {want}")
    return problems


@pytest.fixture(scope="module")
async def published(services: RunningServices, endpoints: Endpoints) -> AsyncIterator[Published]:
    data = generate(random.Random())
    probe = TopicProbe(endpoints.kafka_bootstrap, [REPORT_STATS])
    await probe.start()
    result = Published(data, services.url("reporting"), probe)
    try:
        await publish(endpoints.kafka_bootstrap, data.events)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            # every case counted first: while only a few are, every cell is suppressed and nothing can mismatch
            (total,) = result.cells("year") or ({"incidents": 0},)
            cases = {c.case_id for c in data.cases}
            settled = total["incidents"] == ROUNDING.round(len(cases), "incidents", cases)
            if settled and not [*_mismatches(result, "risk_level"), *_response_mismatches(result)]:
                break
            await asyncio.sleep(1)
        yield result
    finally:
        await probe.stop()


@pytest.mark.parametrize("group_by", ["role,gender", "risk_level", "channel_group", "period", "role,channel_group"])
def test_figures_equal_counts_computed_from_the_generated_population(published: Published, group_by: str) -> None:
    problems = _mismatches(published, group_by)
    assert problems == [], problems[:10]


def test_re_triage_duplicates_and_out_of_order_events_leave_one_fact_per_case(published: Published) -> None:
    (total,) = published.cells("year")
    cases = {c.case_id for c in published.data.cases}
    assert total["incidents"] == ROUNDING.round(len(cases), "incidents", cases)


def test_response_time_percentiles_follow_the_first_notification(published: Published) -> None:
    assert _response_mismatches(published) == []


def test_share_affected_divides_by_the_population_table(published: Published) -> None:
    expected = published.data.expected("role", "gender")
    for cell in published.cells("role,gender"):
        if cell["suppressed"]:
            assert cell["share_affected"] is None
            continue
        role, gender = cell["dims"]["role"], cell["dims"]["gender"]
        assert expected[(role, gender)][1] >= THRESHOLD
        published_affected = cell["affected_office_holders"]  # rounded: the share gives nothing more away
        assert cell["share_affected"] == pytest.approx(published_affected / POPULATION[role][gender], abs=1e-4)


def test_csv_gives_the_same_cells_as_json(published: Published) -> None:
    response = httpx.get(
        f"{published.url}/v1/reports/summary",
        params=published.params("role,gender"),
        headers={"Accept": "text/csv", **BZK},
        timeout=10,
    )
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    as_json = published.cells("role,gender")
    assert [(r["role"], r["gender"], r["incidents"], r["suppressed"]) for r in rows] == [
        (
            c["dims"]["role"],
            c["dims"]["gender"],
            "" if c["suppressed"] else str(c["incidents"]),
            str(c["suppressed"]).lower(),
        )
        for c in as_json
    ]


@pytest.mark.parametrize("group_by", ["role,municipality", "municipality", "role,body_code"])
def test_breaking_down_by_municipality_is_refused(published: Published, group_by: str) -> None:
    response = httpx.get(f"{published.url}/v1/reports/summary", params={"group_by": group_by}, timeout=10, headers=BZK)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "refused_dimension"


async def test_stats_topic_carries_each_cell_under_its_own_key(published: Published) -> None:
    key = f"year={published.data.year}"
    deadline = time.monotonic() + 30
    while True:
        # The topic's cells are tabulated over every year, like the summary without a window: a small cell of another
        # year (other tests' cases) is suppressed, and secondary suppression may hide this year's cell with it.
        async with httpx.AsyncClient(base_url=published.url, timeout=10, headers=BZK) as client:
            response = await client.get("/v1/reports/summary", params={"group_by": "year"})
        (served,) = [c for c in response.json()["cells"] if c["dims"] == {"year": str(published.data.year)}]
        seen = await published.probe.wait_for(REPORT_STATS, key, timeout=30)
        latest = seen[-1].json()
        if latest["cell"] == served or time.monotonic() > deadline:
            break
        await published.probe.settle(1)
    assert latest["cell"] == served
    cases = {c.case_id for c in published.data.cases}
    assert served["suppressed"] or served["incidents"] == ROUNDING.round(len(cases), "incidents", cases)
    assert latest["breakdown"] == ["year"]


def test_replay_rebuilds_the_same_figures_as_the_live_projection(
    published: Published, endpoints: Endpoints, run_id: str
) -> None:
    tables = ["role,gender", "risk_level", "period", "channel_group"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEERBAAR_")}
    env.update(
        WEERBAAR_KAFKA_BOOTSTRAP=endpoints.kafka_bootstrap,
        WEERBAAR_MONGODB_URI=endpoints.mongodb_uri,
        WEERBAAR_MONGODB_DB=f"test_{run_id}",
        WEERBAAR_DEV_MODE="true",
    )
    year = published.data.year
    args = ["--target-db", f"test_{run_id}_replay", "--from", f"{year}-01-01", "--to", f"{year}-12-31", "--json"]
    for table in tables:
        args += ["--group-by", table]
    done = subprocess.run(
        [sys.executable, "-c", "from weerbaar.cli import main; main()", "replay", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    replayed = json.loads(done.stdout)["tables"]
    for table in tables:
        assert replayed[table] == published.cells(table), table


async def test_dashboard_renders_its_charts_in_headless_chromium(published: Published, tmp_path: Path) -> None:
    from tests.reporting.browser import render

    year = published.data.year
    url = f"{published.url}/dashboard?from={year}-01-01&to={year}-12-31&access_token={token(Role.BZK)}"
    artifacts = ROOT / ".artifacts"
    artifacts.mkdir(exist_ok=True)
    # In a thread: the module's probe keeps fetching on this loop meanwhile (an idle loop timed its fetches out).
    dom = await asyncio.to_thread(render, url, screenshot=artifacts / "dashboard.png", profile=tmp_path)
    for chart in ("trend", "channel", "gender", "role", "risk", "response"):
        assert f'data-chart="{chart}"' in dom, chart
        section = dom.split(f'data-chart="{chart}"', 1)[1].split("</svg>", 1)[0]
        assert "data-value=" in section, f"chart {chart} shows no data"
    assert (artifacts / "dashboard.png").stat().st_size > 10_000
