"""Re-drive dead-lettered records to their source topic, once: progress is a committed offset on the DLQ."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from shared.contracts.topics import DLQ_SUFFIX
from shared.messaging.kafka_auth import operator_options

REPLAY_GROUP = "weerbaar-dlq-replay"
REPLAYED_FROM = "dlq_replayed_from"


@dataclass(frozen=True, slots=True)
class ReplayResult:
    dlq: str
    pending: int
    replayed: int
    by_target: dict[str, int]


def replay_headers(headers: list[tuple[str, bytes]], origin: str) -> list[tuple[str, bytes]]:
    """The original headers without the ``dlq_*`` ones, plus where the record was replayed from."""
    kept = [(name, bytes(value)) for name, value in headers if not name.startswith("dlq_")]
    return [*kept, (REPLAYED_FROM, origin.encode())]


def target_of(dlq: str, headers: list[tuple[str, bytes]]) -> str:
    for name, value in headers:
        if name == "dlq_source_topic" and value:
            return bytes(value).decode()
    return dlq.removesuffix(DLQ_SUFFIX)


async def replay(
    bootstrap: str,
    dlq: str,
    *,
    dry_run: bool = False,
    group: str = REPLAY_GROUP,
    on_total: Callable[[int], None] = lambda _: None,
    on_record: Callable[[], None] = lambda: None,
) -> ReplayResult:
    """Publish every record of ``dlq`` after the group's committed offset to its source topic, then commit.

    Records are sent with the original key, value and headers (minus ``dlq_*``, plus ``dlq_replayed_from``) by an
    idempotent producer; the offset is committed per partition after its records are acknowledged, so a crash
    re-drives at most the records since the last commit (consumers dedupe by event id).
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False, **operator_options()
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, **operator_options())
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        partitions = [TopicPartition(dlq, p) for p in sorted(consumer.partitions_for_topic(dlq) or ())]
        if not partitions:
            raise LookupError(f"topic {dlq} does not exist")
        consumer.assign(partitions)
        start: dict[TopicPartition, int] = {}
        for tp in partitions:
            committed = await consumer.committed(tp)
            if committed is None:
                await consumer.seek_to_beginning(tp)
            else:
                consumer.seek(tp, committed)
            start[tp] = await consumer.position(tp)
        end = await consumer.end_offsets(partitions)
        pending = sum(max(end[tp] - start[tp], 0) for tp in partitions)
        on_total(pending)
        by_target: dict[str, int] = {}
        if dry_run or pending == 0:
            return ReplayResult(dlq, pending, 0, by_target)
        await producer.start()
        try:
            for tp in partitions:
                while await consumer.position(tp) < end[tp]:
                    batch = await consumer.getmany(tp, timeout_ms=2000, max_records=500)
                    last = None
                    for record in batch.get(tp, []):
                        if record.offset >= end[tp]:
                            break
                        headers = list(record.headers or ())
                        target = target_of(dlq, headers)
                        await producer.send(
                            target,
                            record.value,
                            key=record.key,
                            headers=replay_headers(headers, f"{dlq}:{tp.partition}:{record.offset}"),
                        )
                        by_target[target] = by_target.get(target, 0) + 1
                        last = record.offset
                        on_record()
                    if last is not None:
                        await producer.flush()
                        await consumer.commit({tp: last + 1})
        finally:
            await producer.stop()
        return ReplayResult(dlq, pending, sum(by_target.values()), by_target)
    finally:
        await consumer.stop()
