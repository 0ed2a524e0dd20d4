"""The broker grants agree with what each service's AsyncAPI document says it reads and writes."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote

import pytest

from shared.contracts import topics
from shared.contracts.principals import (
    CONSUMES,
    DEV_MUNICIPALITIES,
    OPERATOR,
    PATTERNS_CONSUMED,
    PRODUCES,
    SERVICES,
    Op,
    all_grants,
    allowed,
    gemeente_principal,
    liaison_principal,
    principals,
    service_principal,
)
from shared.contracts.topics import NOTIFICATION_ACK, Recipient, ack_topic

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
    patterns = {pattern for pattern, _ in PATTERNS_CONSUMED.get(service, ())}
    assert {*CONSUMES[service], *patterns} == channels["receive"]


def test_an_acknowledgement_topic_is_written_only_by_its_recipient_and_read_by_notify() -> None:
    grants = all_grants()
    notify = service_principal("notify")

    def writers(topic: str) -> set[str]:
        return {p for p in principals() if allowed(grants, p, topic, Op.WRITE)}

    for recipient in Recipient:
        if recipient is not Recipient.BURGEMEESTER:
            assert writers(ack_topic(recipient)) == {liaison_principal(recipient), OPERATOR}, recipient
            assert allowed(grants, notify, ack_topic(recipient), Op.READ)
    for municipality in DEV_MUNICIPALITIES:
        topic = ack_topic(Recipient.BURGEMEESTER, municipality)
        # notify writes the DLQs of what it reads, which share the topics' prefix
        assert writers(topic) == {gemeente_principal(municipality), OPERATOR, notify}, municipality
        assert allowed(grants, notify, topic, Op.READ)
    assert writers(NOTIFICATION_ACK) == {OPERATOR}, "no liaison writes the shared topic any more"
