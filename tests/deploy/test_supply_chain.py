"""What gets installed is exactly what was locked: every file by hash, the images without the dev tools."""

from __future__ import annotations

import re
import tomllib
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RUNTIME_LOCK = REPO / "requirements.lock"
DEV_LOCK = REPO / "requirements-dev.lock"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")


def _name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@cache
def locked(path: Path) -> dict[str, tuple[str, int]]:
    """package → (version, number of hashes) of a pip-compile lock."""
    entries: dict[str, tuple[str, int]] = {}
    current = ""
    for line in path.read_text().splitlines():
        pin = PIN.match(line)
        if pin:
            current = _name(pin.group(1))
            entries[current] = (pin.group(2).rstrip(" \\"), 0)
        elif line.strip().startswith("--hash=sha256:") and current:
            version, hashes = entries[current]
            entries[current] = (version, hashes + 1)
        elif line and not line.startswith(("#", " ")):
            raise AssertionError(f"{path.name}: a line that is neither a pin nor a hash: {line!r}")
    return entries


def direct(extra: str | None = None) -> dict[str, str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    specs = project["optional-dependencies"][extra] if extra else project["dependencies"]
    pins = {}
    for spec in specs:
        name, _, version = re.sub(r"\[.*?\]", "", spec).partition("==")
        pins[_name(name)] = version
    return pins


@pytest.mark.parametrize("lock", [RUNTIME_LOCK, DEV_LOCK], ids=lambda p: p.name)
def test_every_locked_package_is_pinned_with_the_hashes_of_its_files(lock: Path) -> None:
    entries = locked(lock)
    assert len(entries) > 20
    unhashed = [name for name, (_, hashes) in entries.items() if hashes == 0]
    assert not unhashed, f"{lock.name}: no hash for {unhashed}"


TOOLS = ("pytest", "pytest-asyncio", "ruff", "mypy", "testcontainers", "schemathesis", "py-spy")


def test_the_runtime_lock_has_no_development_tools() -> None:
    assert set(TOOLS) <= set(direct("dev"))
    assert set(TOOLS) <= set(locked(DEV_LOCK))
    assert [tool for tool in TOOLS if tool in locked(RUNTIME_LOCK)] == []


def test_the_images_run_the_versions_the_tests_ran() -> None:
    runtime, dev = locked(RUNTIME_LOCK), locked(DEV_LOCK)
    differ = {name: (version, dev.get(name, (None, 0))[0]) for name, (version, _) in runtime.items()}
    assert {name: pair for name, pair in differ.items() if pair[0] != pair[1]} == {}


@pytest.mark.parametrize("extra", [None, "dev"])
def test_the_locks_pin_what_pyproject_asks_for(extra: str | None) -> None:
    lock = locked(DEV_LOCK if extra else RUNTIME_LOCK)
    wanted = {name: version for name, version in direct(extra).items() if version}
    assert {name: lock.get(name, ("missing", 0))[0] for name in wanted} == wanted


def test_make_installs_the_development_set_by_hash_only() -> None:
    makefile = (REPO / "Makefile").read_text()
    assert "--require-hashes -r requirements-dev.lock" in makefile


DIGEST_PIN = re.compile(r"^FROM\s+\S+@sha256:[0-9a-f]{64}(\s|$)")


def test_every_image_is_built_on_a_base_pinned_by_its_digest() -> None:
    """A re-pushed tag cannot change what is built (docs/security.md, "Supply chain": how to move the pin)."""
    froms = {
        path.relative_to(REPO).as_posix(): [line for line in path.read_text().splitlines() if line.startswith("FROM")]
        for path in REPO.glob("services/*/Dockerfile")
    }
    assert len(froms) == 4
    assert all(froms.values()), "a Dockerfile without a FROM line"
    assert {name: lines for name, lines in froms.items() if not all(map(DIGEST_PIN.match, lines))} == {}
