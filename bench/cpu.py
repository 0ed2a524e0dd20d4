"""Where the machine's CPU goes while a phase runs: seconds per process of the stack (the services, the store, the
broker), the bench itself, and the whole machine, from ``/proc``.

The store ceiling is a ratio's denominator; this says what else shares the two cores with it. Per case (or per
request) it gives the budget a design must fit: a target of N cases/s leaves ``cores / N`` CPU seconds per case for
everything, and the services' own share of it cannot be bought back by any store design.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def _process_seconds(pid: int) -> float | None:
    """User + system CPU seconds of one process (its threads included), None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime (fields 14 and 15 of stat)


def _machine_seconds() -> float:
    """CPU seconds the machine spent busy (not idle, not waiting for I/O), all cores."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / _TICKS


def stack_pids(state_dir: Path) -> dict[str, int]:
    """The stack's processes by name (``ferretdb``, ``kafka``, ``svc-intake`` → ``intake``, …)."""
    found: dict[str, int] = {}
    for pid_file in sorted((state_dir / "pids").glob("*.pid")):
        with contextlib.suppress(OSError, ValueError):
            found[pid_file.stem.removeprefix("svc-")] = int(pid_file.read_text().strip())
    return found


@dataclass
class CpuUse:
    """CPU seconds spent while the block ran, per process and in all (filled in when the block ends)."""

    wall_s: float = 0.0
    by_process: dict[str, float] = field(default_factory=dict)
    machine_s: float = 0.0
    cores: int = os.cpu_count() or 1

    def per_unit_ms(self, units: int) -> dict[str, float]:
        """Milliseconds of CPU per case (or request), per process, plus ``other`` (the rest of the machine)."""
        if not units:
            return {}
        out = {name: 1000 * seconds / units for name, seconds in self.by_process.items()}
        out["other"] = max(0.0, 1000 * (self.machine_s - sum(self.by_process.values())) / units)
        return out

    @property
    def busy(self) -> float:
        """Share of the machine's cores busy during the block (1.0: every core, all the time)."""
        return self.machine_s / (self.wall_s * self.cores) if self.wall_s else 0.0

    def as_dict(self, units: int) -> dict[str, object]:
        return {
            "wall_s": self.wall_s,
            "cores": self.cores,
            "busy": self.busy,
            "seconds": self.by_process,
            "machine_s": self.machine_s,
            "units": units,
            "ms_per_unit": self.per_unit_ms(units),
        }


@contextlib.contextmanager
def cpu_use(state_dir: Path) -> Iterator[CpuUse]:
    """Measure the CPU the stack's processes and this bench spend while the block runs."""
    pids = {**stack_pids(state_dir), "bench": os.getpid()}
    before = {name: _process_seconds(pid) for name, pid in pids.items()}
    machine, started = _machine_seconds(), time.perf_counter()
    use = CpuUse()
    yield use
    use.wall_s = time.perf_counter() - started
    use.machine_s = _machine_seconds() - machine
    for name, pid in pids.items():
        first, last = before[name], _process_seconds(pid)
        if first is not None and last is not None:  # a process restarted meanwhile has no figure
            use.by_process[name] = last - first
