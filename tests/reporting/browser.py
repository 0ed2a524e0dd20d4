"""Headless Debian chromium: the page's DOM after rendering, and a screenshot. No Python browser driver needed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--window-size=1280,1800",
    "--virtual-time-budget=5000",
]


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise AssertionError(
        "chromium is not installed: run deploy/run/ensure-chromium.sh (apt-get install chromium), "
        "which `make test` does on a fresh machine"
    )


def render(url: str, *, screenshot: Path, profile: Path) -> str:
    """The DOM after the page rendered; also writes a PNG screenshot."""
    binary = chromium()
    base = [binary, *FLAGS]
    shot = subprocess.run(
        [*base, f"--user-data-dir={profile / 'shot'}", f"--screenshot={screenshot}", url],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert shot.returncode == 0, shot.stderr.decode(errors="replace")[-2000:]
    dom = subprocess.run(
        [*base, f"--user-data-dir={profile / 'dom'}", "--dump-dom", url],
        capture_output=True,
        timeout=120,
        check=False,
        text=True,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    return dom.stdout
