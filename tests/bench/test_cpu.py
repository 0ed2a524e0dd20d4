"""The bench's CPU accounting: per case, per process, and the share of the machine it was busy."""

from __future__ import annotations

import hashlib
from pathlib import Path

from bench.cpu import CpuUse, cpu_use, stack_pids


def test_cpu_per_case_divides_each_process_and_leaves_the_rest_of_the_machine_as_other() -> None:
    use = CpuUse(wall_s=10.0, by_process={"ferretdb": 4.0, "intake": 2.0}, machine_s=8.0, cores=2)

    assert use.per_unit_ms(1_000) == {"ferretdb": 4.0, "intake": 2.0, "other": 2.0}
    assert use.busy == 0.4


def test_no_cases_gives_no_figures_rather_than_a_division_by_zero() -> None:
    assert CpuUse(wall_s=1.0, by_process={"kafka": 1.0}, machine_s=1.0).per_unit_ms(0) == {}


def test_the_stack_processes_are_named_by_their_pid_files(tmp_path: Path) -> None:
    (tmp_path / "pids").mkdir()
    (tmp_path / "pids" / "svc-intake.pid").write_text("123\n")
    (tmp_path / "pids" / "kafka.pid").write_text("456")
    (tmp_path / "pids" / "broken.pid").write_text("not a pid")

    assert stack_pids(tmp_path) == {"intake": 123, "kafka": 456}


def test_the_bench_process_own_work_is_counted(tmp_path: Path) -> None:
    with cpu_use(tmp_path) as use:  # no stack: only this process, and the machine
        digest = b""
        for _ in range(200_000):
            digest = hashlib.sha256(digest).digest()

    assert use.by_process["bench"] > 0.0
    assert use.machine_s >= use.by_process["bench"] * 0.5  # the machine's counter moves with ours (tick rounding)
    assert use.wall_s > 0.0
