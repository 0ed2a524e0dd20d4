"""The broker on the real stack: every listener authenticates, ACLs deny by default, each principal has its topics."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaConnectionError, KafkaError, TopicAuthorizationFailedError
from aiokafka.protocol.admin import DeleteRecordsRequest

from shared.contracts import topics
from shared.contracts.principals import (
    ADMIN,
    DEV_MUNICIPALITIES,
    OPERATOR,
    Grant,
    Op,
    all_grants,
    allowed,
    gemeente_principal,
    liaison_principal,
    principals,
)
from shared.contracts.topics import Recipient, ack_topic, burgemeester_topic, municipal_topics, notify_topic
from shared.messaging.kafka_auth import client_options
from shared.runtime.settings import CommonSettings
from tests.support.endpoints import Endpoints
from tests.support.probe import ensure_topics
from weerbaar.broker import apply_acls

pytestmark = pytest.mark.e2e

MUNICIPAL = [t for m in DEV_MUNICIPALITIES for t in municipal_topics(m)]
MATRIX_TOPICS = sorted({*topics.ALL_TOPICS, *MUNICIPAL})
PRINCIPALS = [p for p in principals() if p != ADMIN]  # the admin is the cluster's super user


def _login(principal: str, *, password: str | None = None) -> dict[str, object]:
    options = client_options(CommonSettings(), principal=principal)
    if password is not None:
        options["sasl_plain_password"] = password
    return options


async def _can_read(bootstrap: str, principal: str, names: list[str]) -> dict[str, bool]:
    """Per topic: may the principal read it? (committing an offset needs READ on the topic, as a fetch does)."""
    group = f"{principal}-acl-matrix-{uuid.uuid4().hex[:8]}"  # a group the principal may use (named after it)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False, **_login(principal)
    )
    await consumer.start()
    found: dict[str, bool] = {}
    try:
        for name in names:
            partition = TopicPartition(name, 0)
            consumer.assign([partition])
            try:
                await asyncio.wait_for(consumer.commit({partition: 0}), 15)
                found[name] = True
            except TopicAuthorizationFailedError:
                found[name] = False
    finally:
        await consumer.stop()
    return found


async def _can_write(bootstrap: str, principal: str, names: list[str]) -> dict[str, bool]:
    """Per topic: may the principal write it? Only refused writes are tried: an allowed one would add a record."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, request_timeout_ms=10_000, **_login(principal))
    await producer.start()
    found: dict[str, bool] = {}
    try:
        for name in names:
            try:
                await asyncio.wait_for(producer.send_and_wait(name, b"{}", key=b"acl-matrix"), 15)
                found[name] = True
            except TopicAuthorizationFailedError:
                found[name] = False
    finally:
        await producer.stop()
    return found


async def test_every_principal_reads_and_writes_exactly_its_topics(endpoints: Endpoints) -> None:
    bootstrap = endpoints.kafka_bootstrap
    await ensure_topics(bootstrap, MATRIX_TOPICS)
    grants = all_grants()
    failures: list[str] = []
    checks = 0
    for principal in PRINCIPALS:
        reads = await _can_read(bootstrap, principal, MATRIX_TOPICS)
        denied_writes = [t for t in MATRIX_TOPICS if not allowed(grants, principal, t, Op.WRITE)]
        writes = await _can_write(bootstrap, principal, denied_writes)
        for name in MATRIX_TOPICS:
            checks += 2
            if reads[name] is not allowed(grants, principal, name, Op.READ):
                failures.append(f"{principal} read {name}: {'allowed' if reads[name] else 'refused'}")
            if writes.get(name, False) and name in denied_writes:
                failures.append(f"{principal} wrote {name}")
    print(f"\nbroker ACL matrix: {len(PRINCIPALS)} principals x {len(MATRIX_TOPICS)} topics x read/write = {checks}")
    assert not failures, "\n".join(failures)
    # What the matrix must say, spelled out: a liaison reads its own topic only, a gemeente its own municipality's.
    police, gm0344 = liaison_principal(Recipient.POLICE), gemeente_principal("GM0344")
    assert [t for t in MATRIX_TOPICS if allowed(grants, police, t, Op.READ)] == [notify_topic(Recipient.POLICE)]
    assert [t for t in MATRIX_TOPICS if allowed(grants, gm0344, t, Op.READ)] == [burgemeester_topic("GM0344")]
    assert not allowed(grants, gm0344, burgemeester_topic("GM0363"), Op.READ)
    assert not allowed(grants, "weerbaar-reporting", notify_topic(Recipient.OM), Op.READ)
    assert not allowed(grants, police, topics.CASE_TRIAGED, Op.WRITE), "no liaison injects a triage decision"
    writers = {t: {p for p in PRINCIPALS if allowed(grants, p, t, Op.WRITE)} for t in MATRIX_TOPICS}
    assert writers[topics.CASE_ERASED] == {"weerbaar-intake", OPERATOR}, "nobody else publishes an erasure"
    assert writers[topics.CASE_TRIAGED] == {"weerbaar-triage", OPERATOR}, "nobody else injects a decision"
    assert writers[burgemeester_topic("GM0344")] == {"weerbaar-notify", OPERATOR}
    # An acknowledgement can only be for oneself: each recipient's topic has one liaison writer.
    assert writers[ack_topic(Recipient.POLICE)] == {police, OPERATOR}
    assert writers[ack_topic(Recipient.BURGEMEESTER, "GM0344")] == {gm0344, "weerbaar-notify", OPERATOR}
    assert writers[topics.NOTIFICATION_ACK] == {OPERATOR}


async def _can_delete(bootstrap: str, principal: str, names: list[str]) -> dict[str, bool]:
    """Per topic: may the principal delete records from it? Asked for the records before offset 0: none are deleted,
    and the broker checks the grant all the same. Sent straight to the broker, as an attacker would: a principal
    that may not even describe the topic does not stop at its client's missing metadata."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **_login(principal))
    await admin.start()
    found: dict[str, bool] = {}
    try:
        node = next(iter(admin._client.cluster.brokers())).nodeId
        for name in names:
            response = await admin._client.send(node, DeleteRecordsRequest([(name, [(0, 0)])], 10_000))
            ((_, partitions, *_),) = response.topics
            ((_, _, error_code, *_),) = partitions
            assert error_code in (0, TopicAuthorizationFailedError.errno), f"{principal} {name}: error {error_code}"
            found[name] = error_code == 0
    finally:
        await admin.close()
    return found


async def test_only_intake_deletes_records_and_only_from_the_hand_off_topics(endpoints: Endpoints) -> None:
    """Trimming the hand-off topics behind their readers (shared/messaging/handoff.py) needs the Delete grant: a
    liaison or another service that had it could wipe reports nobody has read yet."""
    bootstrap = endpoints.kafka_bootstrap
    await ensure_topics(bootstrap, MATRIX_TOPICS)
    deleters = {principal: await _can_delete(bootstrap, principal, MATRIX_TOPICS) for principal in PRINCIPALS}
    may = {(principal, name) for principal, found in deleters.items() for name, yes in found.items() if yes}
    assert may == {("weerbaar-intake", name) for name in topics.HANDOFF_TOPICS}


async def test_a_client_without_credentials_or_with_a_wrong_password_is_refused(endpoints: Endpoints) -> None:
    anonymous = AIOKafkaConsumer(bootstrap_servers=endpoints.kafka_bootstrap, request_timeout_ms=5000)
    with pytest.raises(KafkaConnectionError):
        await asyncio.wait_for(anonymous.start(), 30)
    await anonymous.stop()
    impostor = AIOKafkaProducer(
        bootstrap_servers=endpoints.kafka_bootstrap,
        request_timeout_ms=5000,
        **_login(liaison_principal(Recipient.POLICE), password="guessed"),
    )
    with pytest.raises(KafkaError):
        await asyncio.wait_for(impostor.start(), 30)
    await impostor.stop()


async def test_a_grant_the_platform_no_longer_gives_is_revoked_when_the_grants_are_applied(
    endpoints: Endpoints,
) -> None:
    """An install upgraded from a release that let every liaison write the shared ack topic, or a grant added by hand:
    applying the grants takes it away again (creating grants alone would leave it)."""
    bootstrap, forger = endpoints.kafka_bootstrap, liaison_principal(Recipient.POLICE)
    stale = Grant(forger, "topic", topics.NOTIFICATION_ACK, Op.WRITE)
    assert stale not in all_grants()
    await apply_acls(bootstrap, [*all_grants(), stale])
    assert await _can_write(bootstrap, forger, [topics.NOTIFICATION_ACK]) == {topics.NOTIFICATION_ACK: True}
    granted, revoked = await apply_acls(bootstrap, all_grants())
    assert (granted, revoked) == (len(all_grants()), 1)
    assert await _can_write(bootstrap, forger, [topics.NOTIFICATION_ACK]) == {topics.NOTIFICATION_ACK: False}
