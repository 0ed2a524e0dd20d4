"""The policy file: validated at start-up, a bad one refuses to load with an error naming what is wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from services.triage.app import create_app
from services.triage.errors import PolicyError
from services.triage.policy import DEFAULT_POLICY_PATH, parse_policy
from services.triage.settings import Settings


def _data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))
    return data


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_the_committed_policy_is_the_default_and_valid() -> None:
    assert Settings().policy_path == DEFAULT_POLICY_PATH
    assert parse_policy(_data()).version == "policy-v1"


def test_policy_path_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("WEERBAAR_TRIAGE_POLICY", str(tmp_path / "p.yaml"))
    assert Settings().policy_path == tmp_path / "p.yaml"


@pytest.mark.parametrize(
    ("break_it", "named"),
    [
        (lambda d: d["thresholds"].update(high=10), "medium < high < critical"),
        (lambda d: d["factors"][0].update(weight=-5), "factors.0.weight"),
        (lambda d: d["factors"][0].update(triggers=["indicator:telepathy"]), "unknown trigger 'indicator:telepathy'"),
        (lambda d: d["factors"][0].update(triggers=["text:astrology"]), "trigger 'text:astrology' has no text rule"),
        (lambda d: d["text_rules"][0].update(pattern="(unclosed"), "invalid regular expression"),
        (lambda d: d["routes"][0].update(recipient="nctv"), "routes.0.recipient"),
        (lambda d: d["routes"][-1]["when"].update(any_factor=["moon_phase"]), "unknown factor codes ['moon_phase']"),
        (lambda d: d["authorities"].pop("waterschap"), "missing body kinds"),
        (lambda d: d.pop("version"), "version: Field required"),
        (lambda d: d["factors"].append(dict(d["factors"][0])), "factor codes must be unique"),
    ],
)
def test_a_bad_policy_is_refused_with_the_reason(break_it: Any, named: str) -> None:
    data = _data()
    break_it(data)
    with pytest.raises(PolicyError, match="not a valid risk policy") as refused:
        parse_policy(data)
    assert named in str(refused.value)


def test_the_service_refuses_to_start_with_a_bad_policy(tmp_path: Path) -> None:
    data = _data()
    data["thresholds"]["critical"] = "very"
    settings = Settings(WEERBAAR_TRIAGE_POLICY=_write(tmp_path, data))
    with pytest.raises(PolicyError, match=r"thresholds\.critical"):
        create_app(settings)


def test_a_missing_or_garbled_policy_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read risk policy"):
        create_app(Settings(WEERBAAR_TRIAGE_POLICY=tmp_path / "absent.yaml"))
    garbled = tmp_path / "garbled.yaml"
    garbled.write_text("version: [unclosed", encoding="utf-8")
    with pytest.raises(PolicyError, match="not valid YAML"):
        create_app(Settings(WEERBAAR_TRIAGE_POLICY=garbled))
