"""Run `weerbaar` as a real process, as an operator would."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support.endpoints import Endpoints
from tests.support.services import ROOT


def operator_env(endpoints: Endpoints, db: str, **extra: str) -> dict[str, str]:
    """The broker, the store and a database; none of this shell's WEERBAAR_* settings (dev mode off unless given)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEERBAAR_")}
    env.update(
        WEERBAAR_KAFKA_BOOTSTRAP=endpoints.kafka_bootstrap,
        WEERBAAR_MONGODB_URI=endpoints.mongodb_uri,
        WEERBAAR_MONGODB_DB=db,
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


def weerbaar(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from weerbaar.cli import main; main()", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
