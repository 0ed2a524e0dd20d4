"""The examples of the README and docs/liaisons.md work exactly as written: each runs against the running services
(only the ports filled in, and `make up`/`make down` left to the test's own stack) and answers no error, no 401."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from services.notify.webhooks import sign
from tests.support.auth import headers
from tests.support.docs import DOCS, example, examples
from tests.support.samples import critical_in, notified
from tests.support.services import ROOT, RunningServices

README, LIAISONS = DOCS
MUNICIPALITY = "GM0344"  # the guide's burgemeester


def test_every_example_is_run_by_a_test_or_says_why_not() -> None:
    for doc in DOCS:
        for found in examples(doc):
            where = f"{doc.relative_to(ROOT)}:{found.line}"
            assert found.name or found.why_not_run, f"{where}: a {found.lang} block without an example marker"
            if found.test is not None:
                runner = ROOT / found.test
                assert runner.exists(), f"{where}: {found.test} does not exist"
                assert f'"{found.name}"' in runner.read_text(), f"{where}: {found.test} does not run {found.name!r}"


def _as_run(script: str, services: RunningServices) -> str:
    """The script against the test's services; every curl fails (and with it the script) on an error answer."""
    for service, port in (("intake", 8081), ("notify", 8083), ("reporting", 8084)):
        script = script.replace(f"localhost:{port}", services.url(service).removeprefix("http://"))
    return script.replace("curl ", "curl --fail-with-body ")


def _shell(script: str, services: RunningServices, cwd: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    """bash as a new user's shell: the stack's addresses, none of the tests' settings (dev mode off, as by default)."""
    settings = ("KAFKA_BOOTSTRAP", "MONGODB_URI", "MONGODB_DB", "INTAKE_PORT", "NOTIFY_PORT", "REPORTING_PORT")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEERBAAR_")}
    env.update({f"WEERBAAR_{name}": services.env[f"WEERBAAR_{name}"] for name in settings}, **extra)
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=240
    )


@pytest.mark.e2e
def test_the_readmes_try_it_works_as_written(services: RunningServices, tmp_path: Path) -> None:
    lines = example(README, "try-it").splitlines()
    assert (lines[0], lines[-1]) == ("make up", "make down"), "the stack is the test's own"
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")  # a checkout's: `source .venv/bin/activate`
    done = _shell(_as_run("\n".join(lines[1:-1]), services), services, tmp_path)
    assert done.returncode == 0, done.stdout[-1500:] + done.stderr[-2500:]
    filed = json.loads((tmp_path / "case.json").read_text())
    assert filed["status"] == "received"
    out = done.stdout
    # the filer's view until triage routed the case to OTWB, the desk's own after that (the README says both)
    views = [f'"case_id":"{filed["case_id"]}","view":"{view}"' for view in ("filer", "otwb")]
    assert any(view in out for view in views), "the desk reads the case it reported"
    assert '"cells":' in out, "the summary"
    assert "20 incidents reported" in out
    assert '"sasl_mechanism"' in out, "the liaison's broker login"
    assert (tmp_path / "weerbaar.env").exists(), "the production key set"


def _gemeente_example(name: str, services: RunningServices, tmp_path: Path) -> tuple[str, dict[str, object]]:
    """A guide's shell example run as written against a fresh critical case's burgemeester notification: the
    notification's id and the JSON the example printed last."""
    intake = services.url("intake")
    case_id = httpx.post(f"{intake}/v1/incidents", json=critical_in(MUNICIPALITY), headers=headers("reporter")).json()[
        "case_id"
    ]
    notification_id = notified(intake, case_id, headers("burgemeester", municipality=MUNICIPALITY))
    script = _as_run(example(LIAISONS, name), services)
    path = f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}"  # the weerbaar command (README, "Try it")
    done = _shell(script, services, tmp_path, NOTIFICATION_ID=notification_id, PATH=path)
    assert done.returncode == 0, done.stdout[-1500:] + done.stderr[-1500:]
    return notification_id, json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.e2e
def test_acknowledging_over_http_works_as_written(services: RunningServices, tmp_path: Path) -> None:
    _, answer = _gemeente_example("ack-over-http", services, tmp_path)
    assert (answer["state"], answer["changed"]) == ("acknowledged", True)


@pytest.mark.e2e
def test_reading_a_notification_whole_over_http_works_as_written(services: RunningServices, tmp_path: Path) -> None:
    notification_id, whole = _gemeente_example("details-over-http", services, tmp_path)
    assert (whole["notification_id"], whole["municipality"]) == (notification_id, MUNICIPALITY)
    assert whole["office_holder_name"], "the name the topic does not carry"


def test_the_guides_webhook_check_accepts_what_notify_signs_and_nothing_else() -> None:
    guide: dict[str, object] = {}
    exec(example(LIAISONS, "verify-webhook"), guide)  # noqa: S102 - the published example, as written
    verify = guide["verify"]
    assert callable(verify)
    secret, body = b"the webhook secret", b'{"case_id": "c-1", "level": "critical"}'
    now, stale = str(int(time.time())), str(int(time.time()) - 301)
    assert verify(secret, now, body, sign(secret, now, body))
    assert not verify(secret, now, body + b" ", sign(secret, now, body)), "an altered body"
    assert not verify(b"another secret", now, body, sign(secret, now, body)), "another secret"
    assert not verify(secret, stale, body, sign(secret, stale, body)), "older than five minutes"
