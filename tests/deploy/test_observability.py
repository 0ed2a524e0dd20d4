"""Operations as code stays true: every alert fires in its promtool unit test and has a runbook entry; the Grafana
boards are Grafana dashboards; every metric they and the alerts read is one the running services export, and every
panel's query, evaluated by Prometheus' own engine (promtool) over those metrics, returns data.

No Grafana runs here: the boards are read through Grafana's own generated dashboard types (grafana-foundation-sdk),
which drop whatever is not part of Grafana's dashboard schema, so a misspelt field fails the round trip.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.cog.plugins import register_default_plugins
from grafana_foundation_sdk.models.dashboard import Dashboard
from prometheus_client.parser import text_string_to_metric_families

from tests.support.auth import BearerAuth
from tests.support.samples import acute_body
from tests.support.services import SERVICES, RunningServices

ROOT = Path(__file__).resolve().parents[2]
OBSERVABILITY = ROOT / "deploy" / "observability"
ALERTS = OBSERVABILITY / "alerts.yml"
ALERT_TESTS = OBSERVABILITY / "alerts.test.yml"
BOARDS = sorted((OBSERVABILITY / "grafana" / "dashboards").glob("*.json"))
DATASOURCES = OBSERVABILITY / "grafana" / "provisioning" / "datasources" / "weerbaar.yml"
RUNBOOK = ROOT / "docs" / "operations.md"
NOT_YET_EXPORTED = {"weerbaar_audit_verify_failures_total"}
"""Intake's scheduled audit verification (shared/web/anchors.py) creates this series at its first failure."""
GRAFANA_VARIABLES = {"$__rate_interval": "2m", "$__range": "10m", "$service": ".+"}
METRIC = re.compile(r"\bweerbaar_[a-z0-9_]+")
Sample = tuple[str, dict[str, str], float]


def _alert_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def _boards() -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in BOARDS]


def _queries(board: dict[str, Any]) -> list[tuple[str, str]]:
    """(a name for the panel's query, its PromQL) for every query of every panel."""
    return [
        (f"{board['uid']} panel {panel['id']} {target['refId']}", target["expr"])
        for panel in board["panels"]
        for target in panel.get("targets", ())
    ]


def _promtool() -> Path:
    done = subprocess.run([OBSERVABILITY / "promtool.sh"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"promtool could not be installed: {done.stderr[-2000:]}"
    return Path(done.stdout.strip())


def _anchor(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    return re.sub(r"[^a-z0-9 _-]", "", heading.strip().lower()).replace(" ", "-")


def test_every_alert_is_tested_firing_and_has_a_runbook_entry() -> None:
    alerts = {rule["alert"] for rule in _alert_rules()}
    cases = yaml.safe_load(ALERT_TESTS.read_text())["tests"]
    fired = {check["alertname"] for case in cases for check in case["alert_rule_test"] if check["exp_alerts"]}
    quiet = {check["alertname"] for case in cases for check in case["alert_rule_test"] if not check["exp_alerts"]}
    assert alerts - fired == set(), "alerts no unit test sees firing"
    assert alerts - quiet == set(), "alerts no unit test sees quiet"
    headings = {_anchor(line.lstrip("#")) for line in RUNBOOK.read_text().splitlines() if line.startswith("#")}
    for rule in _alert_rules():
        page, _, anchor = rule["annotations"]["runbook"].partition("#")
        assert page == "docs/operations.md"
        assert anchor in headings, f"{rule['alert']}: no runbook entry #{anchor} in docs/operations.md"
        assert rule["labels"]["severity"] in {"page", "ticket"}


@pytest.mark.integration  # needs promtool, which `make test` builds once from the Go module proxy
def test_every_alert_passes_its_promtool_unit_tests() -> None:
    promtool = _promtool()
    for command in (["check", "rules", str(ALERTS)], ["test", "rules", str(ALERT_TESTS)]):
        done = subprocess.run([promtool, *command], capture_output=True, text=True, cwd=OBSERVABILITY, check=False)
        assert done.returncode == 0, f"promtool {' '.join(command)}:\n{done.stdout}\n{done.stderr}"


def test_the_boards_are_grafana_dashboards_whose_panels_fit_the_grid() -> None:
    register_default_plugins()  # panel options and queries are read as their plugins' types, too
    datasources = {source["uid"] for source in yaml.safe_load(DATASOURCES.read_text())["datasources"]}
    assert {board["uid"] for board in _boards()} >= {"weerbaar-operations", "weerbaar-store"}
    for board in _boards():
        read = json.loads(json.dumps(Dashboard.from_json(board), cls=JSONEncoder))
        _assert_kept(board, read, board["uid"])
        assert len({panel["id"] for panel in board["panels"]}) == len(board["panels"]), "panel ids repeat"
        taken: set[tuple[int, int]] = set()
        for panel in board["panels"]:
            grid = panel["gridPos"]
            assert grid["x"] + grid["w"] <= 24, f"{board['uid']} panel {panel['id']} is wider than the board"
            cells = {(grid["x"] + dx, grid["y"] + dy) for dx in range(grid["w"]) for dy in range(grid["h"])}
            assert not cells & taken, f"{board['uid']} panel {panel['id']} overlaps another"
            taken |= cells
            if panel["type"] != "row":
                assert panel["targets"], f"{board['uid']} panel {panel['id']} queries nothing"
                assert panel["datasource"]["uid"] in datasources


def _assert_kept(written: Any, read: Any, where: str) -> None:
    """Everything written survived the round trip through Grafana's types (a field outside the schema does not)."""
    if isinstance(written, dict):
        assert isinstance(read, dict), where
        for key, value in written.items():
            assert key in read, f"{where}.{key} is not part of Grafana's dashboard schema"
            _assert_kept(value, read[key], f"{where}.{key}")
    elif isinstance(written, list):
        assert isinstance(read, list), where
        assert len(written) == len(read), where
        for i, (a, b) in enumerate(zip(written, read, strict=True)):
            _assert_kept(a, b, f"{where}[{i}]")
    else:
        assert written == read, f"{where}: {written!r} became {read!r}"


async def _scrape(services: RunningServices) -> list[Sample]:
    """Every sample the four services export (but the ``_created`` timestamps)."""
    samples = []
    async with httpx.AsyncClient(timeout=10) as client:
        for service in SERVICES:
            text = (await client.get(services.url(service) + "/metrics")).text
            for family in text_string_to_metric_families(text):
                samples += [
                    (s.name, dict(s.labels), float(s.value)) for s in family.samples if not s.name.endswith("_created")
                ]
    return samples


async def _one_acute_case_through(services: RunningServices) -> None:
    """A report that takes every lane, so every histogram has observations; returns once reporting has it."""
    acute = acute_body()
    async with httpx.AsyncClient(base_url=services.url("intake"), timeout=10, auth=BearerAuth("reporter")) as client:
        response = await client.post("/v1/incidents", json=acute, headers={"Idempotency-Key": uuid.uuid4().hex})
    assert response.status_code == 201, response.text
    deadline = time.monotonic() + 60
    while True:
        timed = [s for s in await _scrape(services) if s[0] == "weerbaar_acute_police_seconds_count" and s[2] > 0]
        if timed:
            return
        assert time.monotonic() < deadline, "no acute report reached the police in 60 s"
        await asyncio.sleep(0.5)


@pytest.mark.e2e
async def test_the_alerts_and_boards_read_metrics_the_services_export_and_every_panel_has_data(
    services: RunningServices,
) -> None:
    await _one_acute_case_through(services)
    samples = await _scrape(services)
    exported = {name for name, _, _ in samples}
    for rule in _alert_rules():
        missing = set(METRIC.findall(rule["expr"])) - exported - NOT_YET_EXPORTED
        assert not missing, f"alert {rule['alert']} reads metrics no service exports: {sorted(missing)}"
    queries = [query for board in _boards() for query in _queries(board)]
    for name, expr in queries:
        missing = set(METRIC.findall(expr)) - exported
        assert not missing, f"{name} reads metrics no service exports: {sorted(missing)}"

    failures = _panels_without_data(queries, samples)
    assert failures is None, failures


def _panels_without_data(queries: list[tuple[str, str]], samples: list[Sample]) -> str | None:
    """Prometheus' engine (promtool) evaluates each panel's query over the scraped series (counters and histograms
    rising by one a minute, gauges as scraped): an alert ``absent(<query>)`` per panel must stay quiet."""
    work = ROOT / ".artifacts" / f"panels-{uuid.uuid4().hex[:8]}"
    work.mkdir(parents=True)
    rules = []
    for i, (name, expr) in enumerate(queries):
        for variable, value in GRAFANA_VARIABLES.items():
            expr = expr.replace(variable, value)
        rules.append({"alert": f"Panel{i}", "expr": f"absent({expr})", "labels": {"panel": name}})
    (work / "panels.yml").write_text(yaml.safe_dump({"groups": [{"name": "panels", "rules": rules}]}))
    series = [{"series": _selector(name, labels), "values": _values(name, value)} for name, labels, value in samples]
    series += [{"series": f'up{{job="weerbaar",instance="{service}"}}', "values": "1x30"} for service in SERVICES]
    quiet = [{"eval_time": "20m", "alertname": rule["alert"], "exp_alerts": []} for rule in rules]
    check = {
        "rule_files": ["panels.yml"],
        "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": series, "alert_rule_test": quiet}],
    }
    (work / "panels.test.yml").write_text(yaml.safe_dump(check))
    done = subprocess.run(
        [_promtool(), "test", "rules", "panels.test.yml"], capture_output=True, text=True, cwd=work, check=False
    )
    if done.returncode == 0:
        return None
    return f"panels whose query returns nothing (files in {work}):\n{done.stdout[-6000:]}{done.stderr[-2000:]}"


def _selector(name: str, labels: dict[str, str]) -> str:
    quoted = ",".join(f"{key}={json.dumps(value)}" for key, value in sorted(labels.items()))
    return f"{name}{{{quoted}}}"


def _values(name: str, value: float) -> str:
    """promtool's series notation: counters and histograms rise by one a minute, gauges stay as scraped."""
    rising = name.endswith(("_total", "_count", "_sum", "_bucket"))
    return f"{value:f}+1x30" if rising else f"{value:f}x30"
