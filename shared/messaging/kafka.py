"""Kafka plumbing: the broker factory, a publisher of typed events, topic provisioning."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

from shared.contracts import topics
from shared.contracts.envelope import Record, to_record
from shared.contracts.events import Envelope
from shared.runtime import tracing
from shared.runtime.errors import Unavailable

DEFAULT_PARTITIONS = 3


def make_broker(*, bootstrap: str, service: str, security: Mapping[str, Any]) -> KafkaBroker:
    """A broker whose subscribers commit after handling (never the at-most-once default).

    ``security``: how it logs in (``shared/kafka_auth.client_options``).
    """
    return KafkaBroker(
        bootstrap,
        security=_faststream_security(security),
        client_id=f"weerbaar-{service}",
        enable_idempotence=True,
        ack_policy=AckPolicy.ACK,
        graceful_timeout=15.0,
        request_timeout_ms=10_000,
        logger=logging.getLogger(f"faststream.{service}"),
        log_level=logging.DEBUG,  # per-message "Received/Processed" lines only at debug level
    )


def _faststream_security(options: Mapping[str, Any]) -> BaseSecurity | None:
    """FastStream's form of ``client_options`` (it builds the aiokafka clients itself)."""
    if not options:
        return None
    kinds = {"SCRAM-SHA-512": SASLScram512, "SCRAM-SHA-256": SASLScram256, "PLAIN": SASLPlaintext}
    return kinds[options["sasl_mechanism"]](
        options["sasl_plain_username"],
        options["sasl_plain_password"],
        ssl_context=options.get("ssl_context"),
        use_ssl=options["security_protocol"] == "SASL_SSL",
    )


class EventPublisher:
    """Publishes event models as CloudEvents-binary records keyed by case id."""

    def __init__(self, broker: KafkaBroker, *, source: str, timeout_s: float = 5.0) -> None:
        self._broker = broker
        self._source = source
        self._timeout_s = timeout_s

    async def publish(self, event: Envelope, *, topic: str | None = None, key: str | None = None) -> None:
        await self.send(to_record(event, source=self._source, topic=topic, key=key))

    async def send(self, record: Record) -> None:
        """Send one record and wait for the broker's acknowledgement (acks=all)."""
        try:
            # aiokafka waits for a broker without limit; bound it so callers can retry or defer.
            with tracing.sending(record.headers):
                await asyncio.wait_for(
                    self._broker.publish(
                        record.value,
                        record.topic,
                        key=record.key,
                        headers={name: value.decode() for name, value in record.headers.items()},
                    ),
                    self._timeout_s,
                )
        except (TimeoutError, KafkaError, OSError) as exc:
            raise Unavailable(f"publish to {record.topic} failed: {type(exc).__name__}") from exc

    async def send_many(self, records: Sequence[Record]) -> None:
        """Send records side by side (the producer batches them) and wait until the broker acknowledged all.

        Records of one key and topic go one after the other, in order; different keys go side by side. Raises
        ``Unavailable`` if any failed (the caller does not commit, so all are sent again; consumers dedupe).
        """
        if not records:
            return
        lanes: dict[tuple[str, bytes], list[Record]] = {}
        for record in records:
            lanes.setdefault((record.topic, record.key), []).append(record)

        async def in_order(lane: list[Record]) -> None:
            for record in lane:
                await self.send(record)

        results = await asyncio.gather(*(in_order(lane) for lane in lanes.values()), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result


async def provision_topics(
    bootstrap: str,
    *,
    security: Mapping[str, Any],
    partitions: int = DEFAULT_PARTITIONS,
    replication_factor: int = 1,
    municipalities: Sequence[str] = (),
    names: Sequence[str] | None = None,
) -> list[str]:
    """Create every contract topic that does not exist yet, with its retention policy; returns the names created.

    Topics that exist get their policy (``topics.policy_of``) set again, so an install whose topics were created
    before they had one (or whose policy changed) keeps only what it should. Production clusters use
    ``replication_factor=3`` with the brokers' ``min.insync.replicas=2`` (deploy/). ``municipalities``: the gemeenten
    whose burgemeester topics to create ahead of their first use (``topics.municipal_topics``), so notify reads a
    gemeente's acknowledgements from the start rather than from its next metadata refresh. ``names``: only these
    topics instead (e.g. the bench's warm-up).
    """
    if names is None:
        names = [*topics.ALL_TOPICS, *(t for m in municipalities for t in topics.municipal_topics(m))]
    wanted = [
        NewTopic(
            name,
            num_partitions=topics.policy_of(name).partitions or partitions,
            replication_factor=replication_factor,
            topic_configs=topics.policy_of(name).configs(),
        )
        for name in names
    ]
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="weerbaar-provision", **security)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in wanted if t.name not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # created concurrently: fine
                await admin.create_topics(missing)
        present = [t for t in wanted if t.name in existing]
        if present:
            await admin.alter_configs(
                [ConfigResource(ConfigResourceType.TOPIC, t.name, configs=t.topic_configs) for t in present]
            )
        return [t.name for t in missing]
    finally:
        await admin.close()
