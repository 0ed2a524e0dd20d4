"""The physical limits on this machine: Kafka's own perf tools, a raw aiokafka producer and two raw relays."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.config import ROOT, BenchSettings
from shared.contracts.topics import burgemeester_topic
from shared.messaging.kafka import provision_topics
from shared.messaging.kafka_auth import java_client_properties, operator_options

STACK = str(ROOT / "deploy" / "local" / "stack.sh")


async def fresh_topic(bootstrap: str, prefix: str, partitions: int = 3) -> str:
    name = f"bench.{prefix}.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **operator_options())
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, partitions, 1)])
    finally:
        await admin.close()
    return name


async def burgemeester_topics(bootstrap: str, municipalities: Sequence[str]) -> int:
    """Create the burgemeester topic of every gemeente the bench's reports come from; returns how many were missing.

    A deployment creates them ahead of use (``weerbaar topics --municipality``); on a fresh local stack the broker
    would create each on first use, in the middle of the end-to-end run (about 345 topics): warm-up, like the JVM's,
    that the run must not measure.
    """
    wanted = [burgemeester_topic(m) for m in municipalities]
    return len(await provision_topics(bootstrap, security=operator_options(), names=wanted))


def kafka_tool(settings: BenchSettings, tool: str, *args: str) -> str:
    """The output of one of Kafka's tools (``stack.sh kafka-tool``); when it fails, the error carries its stderr."""
    run = subprocess.run(
        [STACK, "kafka-tool", f"org.apache.kafka.tools.{tool}", *args],
        capture_output=True,
        text=True,
        timeout=settings.bench_timeout_s,
    )
    if run.returncode:
        raise RuntimeError(f"{tool} exited with {run.returncode}: {(run.stderr or run.stdout).strip()[-2000:]}")
    return run.stdout


def client_config() -> str:
    """A Java client properties file with the operator's login (the broker authenticates Kafka's tools too)."""
    path = ROOT / ".cache" / "dev-kafka" / "operator.properties"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(java_client_properties(operator_options()))
    path.chmod(0o600)
    return str(path)


def kafka_producer_perf(settings: BenchSettings, topic: str, size: int) -> float:
    """records/s of Kafka's ProducerPerformance (acks=all, idempotent, as our services produce)."""
    out = kafka_tool(
        settings,
        "ProducerPerformance",
        *("--topic", topic, "--num-records", str(settings.bench_perf_records), "--record-size", str(size)),
        *("--throughput", "-1", "--producer.config", client_config()),
        *("--producer-props", f"bootstrap.servers={settings.kafka_bootstrap}", "acks=all", "enable.idempotence=true"),
    )
    match = re.findall(r"([\d.]+) records/sec", out)
    return float(match[-1])


def kafka_consumer_perf(settings: BenchSettings, topic: str) -> float:
    """records/s of Kafka's ConsumerPerformance reading the same topic."""
    out = kafka_tool(
        settings,
        "ConsumerPerformance",
        *("--bootstrap-server", settings.kafka_bootstrap, "--topic", topic, "--consumer.config", client_config()),
        *("--messages", str(settings.bench_perf_records), "--timeout", "60000"),
    )
    header, row = [line for line in out.splitlines() if line.strip()][-2:]
    columns = dict(zip([c.strip() for c in header.split(",")], [v.strip() for v in row.split(",")], strict=False))
    return float(columns["nMsg.sec"])


async def raw_producer(settings: BenchSettings, topic: str, payload: bytes) -> float:
    """records/s of a plain aiokafka producer, acks=all, idempotent, keyed, waiting for every batch at the end."""
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap, enable_idempotence=True, acks="all", **operator_options()
    )
    await producer.start()
    try:
        started = time.perf_counter()
        count = settings.bench_relay_records
        futures = [await producer.send(topic, payload, key=str(i).encode()) for i in range(count)]
        await asyncio.gather(*futures)
        return count / (time.perf_counter() - started)
    finally:
        await producer.stop()


async def raw_relay(settings: BenchSettings, source: str, count: int, *, batched: bool = False) -> float:
    """records/s of a raw consume → produce hop, acks=all, idempotent; both take what has arrived, up to
    ``bench_relay_batch`` records (waiting at most 1 s while nothing has).

    Per record (the services' cadence before batching): send and wait, then commit that record's offset. Batched:
    send all the batch's records, wait for every send, then commit once.
    """
    target = await fresh_topic(settings.kafka_bootstrap, "relay-out")
    consumer = AIOKafkaConsumer(
        source,
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=f"bench-relay-{uuid.uuid4().hex[:6]}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **operator_options(),
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap, enable_idempotence=True, acks="all", **operator_options()
    )
    await consumer.start()
    await producer.start()
    try:
        done = 0
        started = 0.0
        while done < count:
            batch = await consumer.getmany(timeout_ms=1000, max_records=settings.bench_relay_batch)
            records = [record for part in batch.values() for record in part]
            if records and not started:
                started = time.perf_counter()
            if not batched:
                for record in records:
                    await producer.send_and_wait(target, record.value, key=record.key, headers=record.headers)
                    await consumer.commit({TopicPartition(record.topic, record.partition): record.offset + 1})
            elif records:
                sends = [await producer.send(target, r.value, key=r.key, headers=r.headers) for r in records]
                await asyncio.gather(*sends)
                await consumer.commit()
            done += len(records)
        return done / (time.perf_counter() - started)
    finally:
        await consumer.stop()
        await producer.stop()


def relay_in_process(settings: BenchSettings, source: str, *, batched: bool) -> dict[str, float]:
    """One relay in a process of its own (``bench.relay_proc``): its rate and its peak RSS, a service's baseline."""
    mode = "batched" if batched else "per-record"
    relay = subprocess.run(
        [sys.executable, "-m", "bench.relay_proc", source, str(settings.bench_relay_records), mode],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        timeout=settings.bench_timeout_s,
    )
    out: dict[str, float] = json.loads(relay.stdout.strip().splitlines()[-1])
    return out


async def run_ceilings(settings: BenchSettings, advance: Callable[[], object] = lambda: None) -> dict[str, Any]:
    """Kafka's perf tools, the raw producer and both raw relays (the same source topic, one process each)."""
    from bench.pipeline import routine_records  # not at the top: the relay's process stays as lean as a raw relay

    payload = routine_records(1, "payload")[0].value
    results: dict[str, Any] = {
        "perf_records": settings.bench_perf_records,
        "relay_records": settings.bench_relay_records,
    }
    topic = await fresh_topic(settings.kafka_bootstrap, "kafka-perf")
    results["kafka_producer_perf"] = kafka_producer_perf(settings, topic, len(payload))
    advance()
    results["kafka_consumer_perf"] = kafka_consumer_perf(settings, topic)
    advance()
    raw_topic = await fresh_topic(settings.kafka_bootstrap, "raw")
    results["raw_aiokafka_producer"] = await raw_producer(settings, raw_topic, payload)
    advance()
    per_record = relay_in_process(settings, raw_topic, batched=False)
    results["raw_relay"], results["raw_relay_rss_mb"] = per_record["rate"], per_record["rss_mb"]
    advance()
    batched = relay_in_process(settings, raw_topic, batched=True)
    results["raw_relay_batched"], results["raw_relay_batched_rss_mb"] = batched["rate"], batched["rss_mb"]
    results["relay_batch"] = settings.bench_relay_batch
    advance()
    return results


def main() -> None:
    """``python -m bench.ceilings``: the Kafka ceilings alone."""
    results = asyncio.run(run_ceilings(BenchSettings()))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
