"""Keys on the real stack: no key, no start (outside dev mode); dev mode says so; rotation re-seals stored data."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
from pymongo.asynchronous.database import AsyncDatabase

from services.intake.codec import case_context
from shared.messaging.kafka_auth import dev_kafka_dir, ensure_dev_credentials
from shared.security.crypto import DataCipher, parse_keys
from shared.security.keys import fresh_key_set
from shared.store.mongo import Document
from shared.web.auth import DEFAULT_DEV_DIR, ensure_dev_keys
from tests.support.cli import operator_env, weerbaar
from tests.support.endpoints import Endpoints
from tests.support.services import ROOT, SERVICES, RunningServices, free_port

pytestmark = pytest.mark.e2e

SECRETS = {
    "intake": ["WEERBAAR_DATA_KEYS", "WEERBAAR_PSEUDONYM_KEY", "WEERBAAR_AUDIT_KEY", "WEERBAAR_DATA_KEY_ID"],
    "triage": ["WEERBAAR_DATA_KEYS", "WEERBAAR_PSEUDONYM_KEY", "WEERBAAR_AUDIT_KEY", "WEERBAAR_DATA_KEY_ID"],
    "notify": ["WEERBAAR_DATA_KEYS", "WEERBAAR_WEBHOOK_SECRET", "WEERBAAR_AUDIT_KEY", "WEERBAAR_DATA_KEY_ID"],
    "reporting": ["WEERBAAR_DATA_KEYS", "WEERBAAR_PSEUDONYM_KEY", "WEERBAAR_AUDIT_KEY", "WEERBAAR_DATA_KEY_ID"],
}


def _production_env(endpoints: Endpoints, db: str, **extra: str) -> dict[str, str]:
    """An operator's environment: broker and store, no dev mode (the default), only the keys given."""
    return operator_env(endpoints, db, **extra)


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_without_keys_outside_dev_mode_refuses_to_start_and_names_what_is_missing(
    service: str, endpoints: Endpoints, run_id: str
) -> None:
    env = _production_env(
        endpoints,
        f"test_{run_id}",
        WEERBAAR_JWKS_URL="https://idp.example/jwks",  # an operator who set only the token issuer
        **{f"WEERBAAR_{service.upper()}_PORT": str(free_port())},
    )
    done = subprocess.run(
        [sys.executable, "-m", f"services.{service}"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert f"{service} refuses to start" in done.stderr
    for name in SECRETS[service]:
        assert name in done.stderr, f"{service} did not name {name}: {done.stderr}"
    assert "weerbaar keys create" in done.stderr
    assert "Traceback" not in done.stderr


def test_with_its_keys_outside_dev_mode_a_service_starts_and_does_not_claim_dev_mode(
    endpoints: Endpoints, run_id: str, tmp_path: Path
) -> None:
    _, public = ensure_dev_keys(DEFAULT_DEV_DIR)
    port = free_port()
    env = _production_env(
        endpoints,
        f"test_{run_id}",
        WEERBAAR_JWT_PUBLIC_KEY_FILE=str(public),
        WEERBAAR_INTAKE_PORT=str(port),
        WEERBAAR_GROUP_PREFIX=f"test-{run_id}-keys",
        # outside dev mode the broker login is configured too (here: intake's local-stack principal)
        WEERBAAR_KAFKA_USERNAME="weerbaar-intake",
        WEERBAAR_KAFKA_PASSWORD=ensure_dev_credentials(dev_kafka_dir())["weerbaar-intake"],
        **fresh_key_set(),
    )
    running = RunningServices(env=env, ports={"intake": port}, log_dir=tmp_path)
    running.start("intake")
    try:
        running.wait_ready(services=("intake",))
        ready = httpx.get(running.url("intake") + "/readyz", timeout=5).json()
        assert ready["status"] == "ready"
        assert "dev_mode" not in ready
        metrics = httpx.get(running.url("intake") + "/metrics", timeout=5).text
        assert 'weerbaar_dev_mode{service="intake"} 0.0' in metrics
    finally:
        running.stop_all()
    assert "dev_mode" not in (tmp_path / "intake.log").read_text()


def test_dev_mode_is_announced_in_the_log_on_readyz_and_in_metrics(services: RunningServices) -> None:
    for service in SERVICES:
        assert httpx.get(services.url(service) + "/readyz", timeout=5).json()["dev_mode"] is True
        metrics = httpx.get(services.url(service) + "/metrics", timeout=5).text
        assert f'weerbaar_dev_mode{{service="{service}"}} 1.0' in metrics
        log = (services.log_dir / f"{service}.log").read_text()
        assert '"event": "dev_mode"' in log
        assert '"level": "warning"' in log


async def test_rotation_reseals_every_stored_personal_field_with_the_new_key(
    endpoints: Endpoints, store: AsyncDatabase[Document], tmp_path: Path
) -> None:
    """`weerbaar keys create`, data sealed with that key, `keys rotate`, `keys reseal`: the new key alone opens all."""
    store = store.client[f"{store.name}_keys"]  # a database of its own: the running services' data has other keys
    env_file = tmp_path / "weerbaar.env"
    env = _production_env(endpoints, store.name, WEERBAAR_JWKS_URL="https://idp.example/jwks")
    assert weerbaar("keys", "create", "--out", str(env_file), env=env).returncode == 0
    assert oct(env_file.stat().st_mode & 0o777) == "0o600"
    first = _env(env_file)
    old = DataCipher(parse_keys(first["WEERBAAR_DATA_KEYS"]), first["WEERBAAR_DATA_KEY_ID"])
    case_id, notification_id = f"case-{uuid.uuid4().hex[:8]}", f"n-{uuid.uuid4().hex[:8]}"
    report = {"office_holder": {"name": "Wethouder Rotatie"}, "incident": {"description": "dreigbrief"}}
    await store["cases"].insert_one(
        {"_id": case_id, "reports": [{"sealed": old.seal_json(report, context=case_context(case_id)), "facts": {}}]}
    )
    await store["notify_cases"].insert_one(
        {
            "_id": case_id,
            "report": old.seal_json(report, context=f"notify/case/{case_id}"),
            "outbox": [old.seal_json({"v": 1}, context=f"notify/outbox/{case_id}")],
        }
    )
    await store["notify_notifications"].insert_one(
        {"_id": notification_id, "sealed": old.seal_json(report, context=f"notify/notification/{notification_id}")}
    )

    rotated = weerbaar("keys", "rotate", "--env-file", str(env_file), env=env)
    assert rotated.returncode == 0, rotated.stderr
    second = _env(env_file)
    assert second["WEERBAAR_DATA_KEY_ID"] != first["WEERBAAR_DATA_KEY_ID"]
    assert second["WEERBAAR_PSEUDONYM_KEY"] == first["WEERBAAR_PSEUDONYM_KEY"]
    resealed = weerbaar("keys", "reseal", env={**env, **second})
    assert resealed.returncode == 0, resealed.stderr
    assert "resealed 4 value(s)" in resealed.stdout
    assert "0 remaining" in resealed.stdout

    only_new = DataCipher(
        {second["WEERBAAR_DATA_KEY_ID"]: parse_keys(second["WEERBAAR_DATA_KEYS"])[second["WEERBAAR_DATA_KEY_ID"]]},
        second["WEERBAAR_DATA_KEY_ID"],
    )
    case = await store["cases"].find_one({"_id": case_id})
    notify_case = await store["notify_cases"].find_one({"_id": case_id})
    notification = await store["notify_notifications"].find_one({"_id": notification_id})
    assert case is not None
    assert notify_case is not None
    assert notification is not None
    assert only_new.open_json(case["reports"][0]["sealed"], context=case_context(case_id)) == report
    assert only_new.open_json(notify_case["report"], context=f"notify/case/{case_id}") == report
    assert only_new.open_json(notify_case["outbox"][0], context=f"notify/outbox/{case_id}") == {"v": 1}
    assert only_new.open_json(notification["sealed"], context=f"notify/notification/{notification_id}") == report
    again = weerbaar("keys", "reseal", env={**env, **second})
    assert "resealed 0 value(s)" in again.stdout


def _env(path: Path) -> dict[str, str]:
    import shlex

    values = {}
    for line in path.read_text().splitlines():
        name, _, value = line.partition("=")
        values[name] = shlex.split(value)[0]
    json.loads(values["WEERBAAR_DATA_KEYS"])
    return values
