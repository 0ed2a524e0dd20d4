"""The README's "Working on cases" block works as written: run with bash against the running services (only the
port and the case id filled in), every call answers what its comment says (no 401, no error but the documented 409)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from shared.web.auth import DEFAULT_DEV_DIR as DEV_JWT_DIR
from tests.support.auth import BearerAuth
from tests.support.docs import example
from tests.support.samples import unique_body
from tests.support.services import ROOT, RunningServices

pytestmark = pytest.mark.e2e


def _block() -> str:
    return example(ROOT / "README.md", "working-on-cases")


def test_the_readmes_workflow_examples_work_as_written(services: RunningServices) -> None:
    intake = services.url("intake")
    with httpx.Client(base_url=intake, timeout=15, auth=BearerAuth("otwb", org="OTWB")) as desk:
        created = desk.post("/v1/incidents", json=unique_body(), headers={"Idempotency-Key": uuid.uuid4().hex})
        assert created.status_code == 201, created.text
        case_id = created.json()["case_id"]
    admin = BearerAuth("admin")
    with httpx.Client(base_url=intake, timeout=15, auth=admin, headers={"X-Break-Glass-Reason": "README test"}) as c:
        deadline = time.monotonic() + 60
        while "police" not in c.get(f"/v1/cases/{case_id}").json().get("notifications", {}):
            assert time.monotonic() < deadline, "the case was not routed to the police in time"
            time.sleep(0.3)
    script = _block().replace("localhost:8081", intake.removeprefix("http://")).replace("<case_id>", case_id)
    lines = [line for line in script.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    script = "\n".join(lines).replace("\\\n", "")
    # Each curl prints its answer on a line of its own, with the status code after it.
    script = script.replace("curl -s ", "curl -s -w '\\n%{http_code}\\n' ")
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "WEERBAAR_DEV_MODE": "true",
        "WEERBAAR_DEV_JWT_DIR": str(DEV_JWT_DIR),
    }
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True, env=env, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    out = [line for line in done.stdout.splitlines() if line.strip()]
    answers = list(zip(out[0::2], out[1::2], strict=True))
    codes = [int(code) for _, code in answers]
    # queue, assign, note, assessment (critical), close (409: the critical notifications are not acknowledged yet),
    # reopen (an open case: 200, nothing changed)
    assert codes == [200, 200, 201, 200, 409, 200], [answers]
    assert isinstance(json.loads(answers[0][0])["items"], list)
    assert json.loads(answers[3][0])["level"] == "critical"
    assert json.loads(answers[5][0])["changed"] is False
