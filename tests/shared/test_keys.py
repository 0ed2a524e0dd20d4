"""Development keys are generated per checkout, never spelled in the code; outside dev mode nothing is filled in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from shared.runtime.settings import CommonSettings
from shared.security.crypto import parse_keys
from shared.security.keys import ensure_dev_keys


def test_each_checkout_generates_keys_of_its_own_and_keeps_them(tmp_path: Path) -> None:
    first, second = ensure_dev_keys(tmp_path / "a"), ensure_dev_keys(tmp_path / "b")
    assert first != second
    assert ensure_dev_keys(tmp_path / "a") == first
    assert len(parse_keys(first["WEERBAAR_DATA_KEYS"])[first["WEERBAAR_DATA_KEY_ID"]]) == 32
    assert oct((tmp_path / "a" / "keys.json").stat().st_mode & 0o777) == "0o600"


def test_dev_mode_fills_in_the_checkouts_keys_and_configured_ones_win(tmp_path: Path) -> None:
    generated = ensure_dev_keys(tmp_path)
    settings = CommonSettings(dev_mode=True, dev_keys_dir=str(tmp_path), pseudonym_key="mine")
    assert settings.pseudonym_secret == b"mine"
    assert settings.audit_secret == generated["WEERBAAR_AUDIT_KEY"].encode()
    assert settings.data_key_id == generated["WEERBAAR_DATA_KEY_ID"]
    assert settings.data_keys is not None
    assert json.loads(settings.data_keys.get_secret_value()) == json.loads(generated["WEERBAAR_DATA_KEYS"])


def test_outside_dev_mode_an_empty_key_is_as_missing_as_none() -> None:
    with pytest.raises(ValidationError, match="missing WEERBAAR_PSEUDONYM_KEY, WEERBAAR_DATA_KEY_ID: outside dev"):
        CommonSettings(
            dev_mode=False, pseudonym_key=" ", audit_key="a", data_keys='{"k": "x"}', jwks_url="https://idp/jwks"
        )
