"""Resident memory of the running services (``svc-*.pid`` in the stack's state dir): now, and the most while a
phase runs."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path


def service_rss_mb(state_dir: Path) -> dict[str, float]:
    out: dict[str, float] = {}
    for pid_file in sorted((state_dir / "pids").glob("svc-*.pid")):
        status = Path(f"/proc/{pid_file.read_text().strip()}/status")
        with contextlib.suppress(OSError):  # the service stopped between the glob and the read
            line = next(x for x in status.read_text().splitlines() if x.startswith("VmRSS:"))
            out[pid_file.stem.removeprefix("svc-")] = int(line.split()[1]) / 1024
    return out


@contextlib.asynccontextmanager
async def peak_rss_mb(state_dir: Path, every_s: float = 0.5) -> AsyncIterator[dict[str, float]]:
    """The most RSS per service seen, sampled every ``every_s`` while the block runs (filled in as it runs)."""
    peaks: dict[str, float] = {}

    async def sample() -> None:
        while True:
            for service, mb in service_rss_mb(state_dir).items():
                peaks[service] = max(peaks.get(service, 0.0), mb)
            await asyncio.sleep(every_s)

    task = asyncio.create_task(sample())
    try:
        yield peaks
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
