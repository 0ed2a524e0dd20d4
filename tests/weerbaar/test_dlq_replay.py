"""`weerbaar dlq replay` on the real broker: re-drives with the original record, once, and not at all in a dry run."""

from __future__ import annotations

import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from typer.testing import CliRunner

from shared.messaging.kafka_auth import operator_options
from tests.support.endpoints import Endpoints
from weerbaar.cli import app
from weerbaar.replay import replay

pytestmark = pytest.mark.integration


async def _topics(bootstrap: str, *names: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **operator_options())
    await admin.start()
    try:
        await admin.create_topics([NewTopic(n, num_partitions=2, replication_factor=1) for n in names])
    finally:
        await admin.close()


async def _dead_letter(bootstrap: str, dlq: str, source: str, n: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **operator_options())
    await producer.start()
    try:
        for i in range(n):
            headers = [
                ("ce_id", f"evt-{i}".encode()),
                ("x-trace", b"t1"),
                ("dlq_reason", b"schema validation failed"),
                ("dlq_source_topic", source.encode()),
                ("dlq_source_offset", str(i).encode()),
            ]
            await producer.send_and_wait(dlq, f"value-{i}".encode(), key=f"case-{i}".encode(), headers=headers)
    finally:
        await producer.stop()


async def _read(bootstrap: str, topic: str) -> list[tuple[bytes, bytes, dict[str, bytes]]]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, **operator_options())
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        end = await consumer.end_offsets(tps)
        out = []
        while any([await consumer.position(tp) < end[tp] for tp in tps]):
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                out += [(r.key, r.value, dict(r.headers)) for r in records]
        return out
    finally:
        await consumer.stop()


async def test_replay_re_drives_each_dead_letter_once_with_its_original_record(endpoints: Endpoints) -> None:
    bootstrap = endpoints.kafka_bootstrap
    source = f"test.replay.{uuid.uuid4().hex[:10]}.v1"
    dlq, group = source + ".dlq", f"test-replay-{uuid.uuid4().hex[:8]}"
    await _topics(bootstrap, source, dlq)
    await _dead_letter(bootstrap, dlq, source, 5)

    dry = await replay(bootstrap, dlq, dry_run=True, group=group)
    assert (dry.pending, dry.replayed) == (5, 0)
    assert await _read(bootstrap, source) == []

    first = await replay(bootstrap, dlq, group=group)
    assert (first.replayed, first.by_target) == (5, {source: 5})
    again = await replay(bootstrap, dlq, group=group)
    assert (again.pending, again.replayed) == (0, 0), "a second replay must not re-drive the same records"

    replayed = sorted(await _read(bootstrap, source))
    assert [(k, v) for k, v, _ in replayed] == [(f"case-{i}".encode(), f"value-{i}".encode()) for i in range(5)]
    for _, _, headers in replayed:
        assert headers["x-trace"] == b"t1"
        assert not [name for name in headers if name.startswith("dlq_") and name != "dlq_replayed_from"]
        assert headers["dlq_replayed_from"].decode().startswith(dlq + ":")

    await _dead_letter(bootstrap, dlq, source, 1)  # a new dead letter after the fix: only that one goes
    assert (await replay(bootstrap, dlq, group=group)).replayed == 1


def test_cli_dry_run_counts_and_names_the_dlq(endpoints: Endpoints, monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    source = f"test.replay.{uuid.uuid4().hex[:10]}.v1"
    asyncio.run(_topics(endpoints.kafka_bootstrap, source, source + ".dlq"))
    asyncio.run(_dead_letter(endpoints.kafka_bootstrap, source + ".dlq", source, 2))
    monkeypatch.setenv("WEERBAAR_KAFKA_BOOTSTRAP", endpoints.kafka_bootstrap)
    result = CliRunner().invoke(app, ["dlq", "replay", source, "--dry-run", "--group", f"g-{uuid.uuid4().hex[:6]}"])
    assert result.exit_code == 0, result.output
    assert "2 record(s)" in result.output
