"""Every topic keeps its records only as long as its content needs: the policy as the real broker has it."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from shared.contracts import topics
from shared.messaging.kafka import provision_topics
from shared.messaging.kafka_auth import operator_options
from tests.support.endpoints import Endpoints
from tests.support.waiting import until


def test_every_topic_has_a_policy_and_personal_data_is_kept_30_days_at_most() -> None:
    for name in topics.ALL_TOPICS:
        assert topics.policy_of(name).why
    personal = [
        topics.INCIDENT_REPORTED,
        topics.INCIDENT_URGENT,
        *(topics.notify_topic(r) for r in topics.Recipient),
        topics.burgemeester_topic("GM0344"),
        *(topics.dlq_topic(t) for t in topics.CONSUMED_TOPICS),
    ]
    for name in personal:
        days = topics.policy_of(name).retention_days
        assert days is not None
        assert days <= topics.REPORT_DAYS, name
    anchors = topics.policy_of(topics.AUDIT_ANCHORS)
    assert anchors.configs() == {"cleanup.policy": "delete", "retention.ms": "-1"}
    assert anchors.partitions == 1


def test_decisions_are_compacted_by_case_within_a_day_and_their_acute_copies_trimmed_behind_their_readers() -> None:
    """The pseudonym in an erased case's earlier decisions leaves the log: compaction on the main topic (triage
    publishes the latest again without it), the hand-off trim on the acute lane's copy."""
    assert topics.policy_of(topics.CASE_TRIAGED).configs() == {
        "cleanup.policy": "compact,delete",
        "retention.ms": str(topics.FACT_DAYS * topics.DAY_MS),
        "max.compaction.lag.ms": str(topics.DAY_MS),
    }
    assert topics.CASE_TRIAGED_URGENT in topics.HANDOFF_TOPICS


async def _configs(admin: AIOKafkaAdminClient, names: list[str]) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    responses: list[Any] = await admin.describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, name) for name in names]
    )
    for response in responses:
        for resource in response.resources:
            # (error_code, error_message, resource_type, resource_name, [(name, value, read_only, ...), ...])
            found[resource[3]] = {entry[0]: entry[1] for entry in resource[4]}
    return found


@pytest.mark.integration
async def test_the_broker_keeps_every_topic_by_its_policy(endpoints: Endpoints) -> None:
    await provision_topics(
        endpoints.kafka_bootstrap, security=operator_options()
    )  # topics made before they had a policy get it too
    admin = AIOKafkaAdminClient(
        bootstrap_servers=endpoints.kafka_bootstrap, client_id="test-retention", **operator_options()
    )
    await admin.start()
    try:
        configs = await _configs(admin, list(topics.ALL_TOPICS))
        anchors = await admin.describe_topics([topics.AUDIT_ANCHORS])
    finally:
        await admin.close()
    for name in topics.ALL_TOPICS:
        policy = topics.policy_of(name)
        for key, value in policy.configs().items():
            assert configs[name][key] == value, f"{name}: {key}={configs[name][key]}, the policy says {value}"
    assert configs[topics.INCIDENT_REPORTED]["retention.ms"] == str(30 * topics.DAY_MS)
    assert configs[topics.REPORT_STATS]["cleanup.policy"] == "compact"
    assert configs[topics.AUDIT_ANCHORS]["cleanup.policy"] == "delete"
    assert configs[topics.AUDIT_ANCHORS]["retention.ms"] == "-1"
    assert len(anchors[0]["partitions"]) == 1


@pytest.mark.integration
async def test_provisioning_named_topics_creates_only_those_with_their_policy(endpoints: Endpoints) -> None:
    fresh = sorted(topics.burgemeester_topic(f"GM9{n}{uuid.uuid4().int % 1000:03d}") for n in range(2))
    created = await provision_topics(endpoints.kafka_bootstrap, security=operator_options(), names=fresh)
    assert created == fresh, "the named topics, and no contract topic beside them"
    admin = AIOKafkaAdminClient(
        bootstrap_servers=endpoints.kafka_bootstrap, client_id="test-named", **operator_options()
    )
    await admin.start()
    wanted = {name: topics.policy_of(name).configs()["retention.ms"] for name in fresh}

    async def kept_by_policy() -> bool:  # a new topic's configs reach the broker's answers a moment later
        configs = await _configs(admin, fresh)
        return {name: configs.get(name, {}).get("retention.ms") for name in fresh} == wanted

    try:
        await until("the named topics carry their policy", kept_by_policy, within_s=30, every_s=0.2)
    finally:
        await admin.close()
