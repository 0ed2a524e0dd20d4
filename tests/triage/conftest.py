"""The committed policy, loaded once."""

from __future__ import annotations

import pytest

from services.triage.policy import DEFAULT_POLICY_PATH, Policy, load_policy


@pytest.fixture(scope="session")
def policy() -> Policy:
    return load_policy(DEFAULT_POLICY_PATH)
