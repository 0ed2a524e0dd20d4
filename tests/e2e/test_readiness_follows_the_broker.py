"""Readiness tracks the broker: 503 soon after it stops, 200 again after it restarts, without restarting services."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.support.auth import DeskAuth, headers
from tests.support.samples import unique_body
from tests.support.services import SERVICES, RunningServices

pytestmark = [pytest.mark.e2e, pytest.mark.disruptive]

STACK = os.environ.get("WEERBAAR_LOCAL_STACK")
STATE = Path(os.environ.get("WEERBAAR_STATE_DIR", Path(__file__).resolve().parents[2] / ".stack"))


def _codes(services: RunningServices) -> dict[str, int]:
    codes = {}
    for service in SERVICES:
        try:
            codes[service] = httpx.get(services.url(service) + "/readyz", timeout=8).status_code
        except httpx.HTTPError:
            codes[service] = 0
    return codes


def _wait_all(services: RunningServices, code: int, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if set(_codes(services).values()) == {code}:
            return time.monotonic() - started
        time.sleep(0.5)
    raise AssertionError(f"not all {code} within {timeout} s: {_codes(services)}")


@pytest.mark.skipif(STACK is None, reason="needs the local stack (run through make test) to stop the broker")
def test_readiness_turns_503_without_the_broker_and_200_when_it_returns(services: RunningServices) -> None:
    assert STACK is not None
    desk, desk_auth = headers("otwb", org="OTWB test desk"), DeskAuth()
    _wait_all(services, 200, 30)
    kafka_pid = int((STATE / "pids" / "kafka.pid").read_text())
    os.kill(kafka_pid, signal.SIGTERM)
    try:
        went_down = _wait_all(services, 503, 30)
        # A report accepted while the broker is down is stored with its event and published once it returns.
        accepted = httpx.post(services.url("intake") + "/v1/incidents", json=unique_body(), timeout=15, headers=desk)
        assert accepted.status_code == 201, accepted.text
    finally:
        subprocess.run([STACK, "up"], check=True, capture_output=True)
    came_back = _wait_all(services, 200, 90)
    assert all(proc.poll() is None for proc in services.processes.values()), "no service was restarted"
    case_id = accepted.json()["case_id"]
    deadline = time.monotonic() + 60
    status = ""
    while time.monotonic() < deadline and status not in ("triaged", "notified"):
        status = httpx.get(services.url("intake") + f"/v1/cases/{case_id}", timeout=8, auth=desk_auth).json()["status"]
        time.sleep(0.5)
    assert status in ("triaged", "notified"), f"report accepted during the outage is still {status}"
    print(f"readiness: 503 after {went_down:.1f} s, 200 again {came_back:.1f} s after the broker returned")
