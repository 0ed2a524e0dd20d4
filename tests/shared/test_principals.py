"""The broker grants agree with what each service's AsyncAPI document says it reads and writes."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote

import pytest

from shared.contracts import topics
from shared.contracts.principals import CONSUMES, PRODUCES, SERVICES

ASYNCAPI = Path(__file__).resolve().parents[2] / "docs" / "asyncapi"


def _channels(service: str) -> dict[str, set[str]]:
    document = json.loads((ASYNCAPI / f"{service}.json").read_text())
    found: dict[str, set[str]] = {"send": set(), "receive": set()}
    for operation in document["operations"].values():
        ref = unquote(operation["channel"]["$ref"].split("/")[-1])
        found[operation["action"]].add(document["channels"][ref]["address"])
    return found


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_principal_has_exactly_the_topics_its_asyncapi_names(service: str) -> None:
    channels = _channels(service)
    produced = {t for t in PRODUCES[service] if not t.endswith(topics.DLQ_SUFFIX)}
    documented = {t for t in channels["send"] if "{municipality}" not in t}
    assert produced == documented
    assert set(CONSUMES[service]) == channels["receive"]
