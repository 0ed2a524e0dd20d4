"""The issue's three attacks, and snapshot differencing on the stats topic, against the real services.

Each attack runs twice: against the reporting service as it runs (the consistent method: closed publication periods,
small cells suppressed, counts randomly rounded by cell key), where none recovers a hidden value exactly; and against
a second reporting process with the old per-table suppression switched in (``WEERBAAR_DISCLOSURE_METHOD=per_table``),
where each one does, which shows that the attacks are real and that the method is what stops them.
"""

from __future__ import annotations

import asyncio
import calendar
import random
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pymongo.asynchronous.database import AsyncDatabase

from services.reporting.domain import cell_key
from services.reporting.publishing import STANDARD_BREAKDOWNS
from shared.contracts.topics import REPORT_STATS
from shared.store.mongo import Document
from shared.web.auth import Role
from tests.reporting.attack_data import Case, Span, events_of, span, triaged, year_of_cases
from tests.reporting.population_fixture import publish
from tests.support.auth import headers
from tests.support.endpoints import Endpoints
from tests.support.probe import TopicProbe
from tests.support.services import RunningServices, free_port, start_groups_at_end

pytestmark = pytest.mark.integration
BZK = headers(Role.BZK, org="BZK")
THRESHOLD = 5
CONSISTENT, PER_TABLE = "consistent", "per_table"


@dataclass
class Reporting:
    """One reporting process and where its facts are kept."""

    method: str
    url: str
    db: AsyncDatabase[Document]

    def get(self, group_by: str, start: str | None, end: str | None) -> httpx.Response:
        params = {"group_by": group_by, **({"from": start} if start else {}), **({"to": end} if end else {})}
        return httpx.get(f"{self.url}/v1/reports/summary", params=params, headers=BZK, timeout=10)

    def table(self, group_by: str, start: str, end: str) -> tuple[dict[tuple[str, ...], dict[str, Any]], int]:
        """The cells by their values along ``group_by``, and the rounding base the response declares."""
        response = self.get(group_by, start, end)
        response.raise_for_status()
        body = response.json()
        dims = group_by.split(",")
        return {tuple(c["dims"][d] for d in dims): c for c in body["cells"]}, int(body["rounding_base"])

    async def has_facts(self, case_ids: list[str]) -> bool:
        found = await self.db["reporting_facts"].count_documents({"_id": {"$in": case_ids}, "assessment_no": 1})
        return bool(found == len(case_ids))


@dataclass
class Attacked:
    year: int
    cases: list[Case]
    current: Reporting
    old: Reporting
    probe: TopicProbe
    endpoints: Endpoints

    def of(self, method: str) -> Reporting:
        return self.current if method == CONSISTENT else self.old

    @property
    def whole_year(self) -> tuple[str, str]:
        return f"{self.year}-01-01", f"{self.year}-12-31"


async def _until(condition: Any, what: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        await asyncio.sleep(0.3)


@pytest.fixture(scope="module")
def old_reporting(services: RunningServices, endpoints: Endpoints, run_id: str) -> Iterator[str]:
    """A second reporting process with the old per-table suppression, its own consumer group and database.

    It reads the same topics from now on; its stats debounce is long, so it leaves the stats topic to the real one.
    """
    port = free_port()
    prefix = f"test-{run_id}-old"
    env = {
        **services.env,
        "WEERBAAR_REPORTING_PORT": str(port),
        "WEERBAAR_DISCLOSURE_METHOD": PER_TABLE,
        "WEERBAAR_GROUP_PREFIX": prefix,
        "WEERBAAR_MONGODB_DB": f"test_{run_id}_old",
        "WEERBAAR_STATS_DEBOUNCE_S": "300",
    }
    asyncio.run(start_groups_at_end(endpoints.kafka_bootstrap, prefix))
    old = RunningServices(env=env, ports={"reporting": port}, log_dir=services.log_dir / "old-reporting")
    old.log_dir.mkdir(parents=True, exist_ok=True)
    old.start("reporting")
    try:
        old.wait_ready(services=("reporting",))
        yield old.url("reporting")
    finally:
        old.stop_all()


@pytest.fixture(scope="module")
async def attacked(
    services: RunningServices,
    old_reporting: str,
    endpoints: Endpoints,
    store: AsyncDatabase[Document],
    run_id: str,
) -> AsyncIterator[Attacked]:
    rng = random.Random()
    year = rng.randint(2000, 2012)  # a closed year no other test uses
    cases = year_of_cases(rng)
    probe = TopicProbe(endpoints.kafka_bootstrap, [REPORT_STATS])
    await probe.start()
    old_db = store.client[f"test_{run_id}_old"]
    data = Attacked(
        year,
        cases,
        Reporting(CONSISTENT, services.url("reporting"), store),
        Reporting(PER_TABLE, old_reporting, old_db),
        probe,
        endpoints,
    )
    try:
        await publish(endpoints.kafka_bootstrap, events_of(cases, year))
        ids = [c.case_id for c in cases]
        for reporting in (data.current, data.old):
            await _until(lambda r=reporting: r.has_facts(ids), f"{reporting.method} reporting folded every case")
        yield data
    finally:
        await probe.stop()


METHODS = pytest.mark.parametrize("method", [CONSISTENT, PER_TABLE])


def _hierarchy_attack(reporting: Reporting, start: str, end: str) -> tuple[int | None, int | None]:
    """at_home from channel vs channel_group; March from period vs quarter. Returns what was recovered exactly."""
    channels, base = reporting.table("channel", start, end)
    groups, _ = reporting.table("channel_group", start, end)
    offline = [c for c in ("in_person", "phone", "mail", "at_meeting") if c in [k[0] for k in channels]]
    at_home = span(groups.get(("offline",)), base=base, threshold=THRESHOLD)
    for channel in offline:
        at_home = at_home - span(channels.get((channel,)), base=base, threshold=THRESHOLD)
    at_home = at_home.meet(span(channels.get(("at_home",)), base=base, threshold=THRESHOLD))
    months, _ = reporting.table("period", start, end)
    quarters, _ = reporting.table("quarter", start, end)
    year = start[:4]
    march = span(quarters.get((f"{year}-Q1",)), base=base, threshold=THRESHOLD)
    for month in ("01", "02"):
        march = march - span(months.get((f"{year}-{month}",)), base=base, threshold=THRESHOLD)
    march = march.meet(span(months.get((f"{year}-03",)), base=base, threshold=THRESHOLD))
    return at_home.exact, march.exact


@METHODS
async def test_hierarchy_differencing_recovers_nothing_exactly(attacked: Attacked, method: str) -> None:
    reporting = attacked.of(method)
    channels, _ = reporting.table("channel", *attacked.whole_year)
    months, _ = reporting.table("period", *attacked.whole_year)
    assert channels[("at_home",)]["suppressed"]
    assert months[(f"{attacked.year}-03",)]["suppressed"]
    at_home, march = _hierarchy_attack(reporting, *attacked.whole_year)
    if method == PER_TABLE:  # the old method gives both away: at_home = 3, March = 2
        assert (at_home, march) == (3, 2)
    else:
        assert (at_home, march) == (None, None)


def _window_attack(reporting: Reporting, year: int) -> tuple[int | None, list[int]]:
    """March vrouw from January-February against January-March; then from the quarter minus its months."""
    statuses = []
    spans = []
    february_ends = f"{year}-02-{calendar.monthrange(year, 2)[1]}"
    for end in (february_ends, f"{year}-03-31"):
        response = reporting.get("gender", f"{year}-01-01", end)
        statuses.append(response.status_code)
        if response.status_code == 200:
            cells = {c["dims"]["gender"]: c for c in response.json()["cells"]}
            spans.append(span(cells.get("vrouw"), base=response.json()["rounding_base"], threshold=THRESHOLD))
    if len(spans) == 2:
        return (spans[1] - spans[0]).exact, statuses
    # Refused: the attacker falls back on the published periods, the quarter minus its first two months.
    quarter, base = reporting.table("gender", f"{year}-01-01", f"{year}-03-31")
    march = span(quarter.get(("vrouw",)), base=base, threshold=THRESHOLD)
    for month_start, month_end in ((f"{year}-01-01", f"{year}-01-31"), (f"{year}-02-01", february_ends)):
        cells, _ = reporting.table("gender", month_start, month_end)
        march = march - span(cells.get(("vrouw",)), base=base, threshold=THRESHOLD)
    return march.meet(Span(0, float("inf"))).exact, statuses


@METHODS
async def test_window_differencing_recovers_nothing_exactly(attacked: Attacked, method: str) -> None:
    reporting = attacked.of(method)
    march_vrouw, statuses = _window_attack(reporting, attacked.year)
    if method == PER_TABLE:  # any window, widened to whole months: January-March minus January-February
        assert statuses == [200, 200]
        assert march_vrouw == 2
    else:  # January-February is no publication period; the quarter minus its months gives a range, not 2
        assert statuses[0] == 422
        assert march_vrouw is None


def test_a_window_that_is_no_publication_period_is_refused_with_the_field_at_fault(attacked: Attacked) -> None:
    year = attacked.year
    for start, end, field in ((f"{year}-01-01", f"{year}-02-28", "to"), (f"{year}-01-15", f"{year}-02-14", "to")):
        response = attacked.current.get("gender", start, end)
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == "invalid_window"
        assert [e["field"] for e in response.json()["errors"]] == [field]
    month = datetime.now(UTC).strftime("%Y-%m")
    response = attacked.current.get("gender", f"{month}-01", None)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "to"


async def _snapshot(reporting: Reporting, year: int) -> dict[str, dict[str, Any]]:
    """Every standard cell of the year, by its stats-topic key."""
    cells: dict[str, dict[str, Any]] = {}
    for breakdown in STANDARD_BREAKDOWNS:
        if "council_term" in breakdown:
            continue  # a term spans years: its figures are compared through the year's tables
        response = reporting.get(",".join(breakdown), f"{year}-01-01", f"{year}-12-31")
        response.raise_for_status()
        for cell in response.json()["cells"]:
            cells[cell_key(cell["dims"])] = cell
    return cells


def _recovered(before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]) -> dict[str, set[str]]:
    """What the attacker learns of the new case: for each dimension, the values whose count went up by exactly 1."""
    learned: dict[str, set[str]] = {}
    for key, cell in after.items():
        old = before.get(key)
        was = 0 if old is None else old["incidents"]
        if cell["incidents"] is None or was is None or (old is not None and old["suppressed"]):
            continue
        if cell["incidents"] - was == 1:
            for name, value in cell["dims"].items():
                if name not in ("year",):
                    learned.setdefault(name, set()).add(value)
    return learned


LATE = Case("", 3, "vrouw", "at_meeting", role="burgemeester", level="high", impact=True, wants_aangifte=True)


@METHODS
async def test_snapshot_differencing_does_not_reveal_a_new_cases_attributes(attacked: Attacked, method: str) -> None:
    """A late report about the closed year: the cells that moved by exactly one would describe the case."""
    reporting = attacked.of(method)
    before = await _snapshot(reporting, attacked.year)
    late = replace(LATE, case_id=f"late{method}{random.getrandbits(64):x}")
    await publish(attacked.endpoints.kafka_bootstrap, [triaged(late, attacked.year)])
    await _until(lambda: reporting.has_facts([late.case_id]), "the late case folded in")
    after = await _snapshot(reporting, attacked.year)
    learned = _recovered(before, after)
    if method == PER_TABLE:
        assert {"gender": {"vrouw"}, "channel_group": {"offline"}, "impact_on_functioning": {"ja"}}.items() <= {
            k: v for k, v in learned.items() if len(v) == 1
        }.items(), learned
        return
    assert learned == {}, learned
    moved = {k: (before.get(k, {}).get("incidents"), c["incidents"]) for k, c in after.items() if before.get(k) != c}
    assert all(b is None or a is None or (a - b) % 5 == 0 for b, a in moved.values()), moved
    # And the stats topic, which dashboards read, converges on the same cells: no exact unit moves there either.
    for key, cell in after.items():
        if "quarter" in key or "period" in key:
            continue
        await _until(lambda k=key, c=cell: _latest_is(attacked.probe, k, c), f"stats topic carries {key}", 60)


async def _latest_is(probe: TopicProbe, key: str, cell: dict[str, Any]) -> bool:
    await probe.settle(0.2)
    seen = probe.all(REPORT_STATS, key)
    return bool(seen) and seen[-1].json()["cell"] == cell


async def test_an_incident_in_an_open_month_changes_nothing_that_is_published(attacked: Attacked) -> None:
    """No snapshot churn for open periods: the month of a new report is not published until it closes."""
    now = datetime.now(UTC)
    fresh = Case(f"open{random.getrandbits(64):x}", now.month, "vrouw", "at_home", role="burgemeester", level="high")
    await publish(attacked.endpoints.kafka_bootstrap, [triaged(fresh, now.year, occurred=now)])
    await _until(lambda: attacked.current.has_facts([fresh.case_id]), "the new case folded in")
    await _until(lambda: attacked.old.has_facts([fresh.case_id]), "the old method's process has it too")
    # The old method shows the open month at once; the current one never does.
    old = attacked.old.get("gender", None, None).json()["cells"]
    assert sum(c["incidents"] or 0 for c in old) >= 1
    month, quarter = now.strftime("%Y-%m"), f"{now.year}-Q{(now.month - 1) // 3 + 1}"
    for group_by, value in (("period", month), ("quarter", quarter), ("year", str(now.year))):
        cells = attacked.current.get(group_by, None, None).json()["cells"]
        assert value not in [c["dims"][group_by] for c in cells], (group_by, value)
    await attacked.probe.settle(2)
    for key in (f"period={month}", f"quarter={quarter}", f"year={now.year}", f"channel_group=offline|period={month}"):
        assert attacked.probe.all(REPORT_STATS, key) == [], key
