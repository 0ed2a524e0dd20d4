"""The physical limits on this machine: Kafka's own perf tools, a raw aiokafka producer and a raw relay."""

from __future__ import annotations

import asyncio
import re
import subprocess
import time
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.config import ROOT, BenchSettings

STACK = str(ROOT / "deploy" / "local" / "stack.sh")


async def fresh_topic(bootstrap: str, prefix: str, partitions: int = 3) -> str:
    name = f"bench.{prefix}.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, partitions, 1)])
    finally:
        await admin.close()
    return name


def kafka_producer_perf(settings: BenchSettings, topic: str, size: int) -> float:
    """records/s of Kafka's ProducerPerformance (acks=all, idempotent, as our services produce)."""
    out = subprocess.run(
        [
            STACK,
            "kafka-tool",
            "org.apache.kafka.tools.ProducerPerformance",
            "--topic",
            topic,
            "--num-records",
            str(settings.bench_records),
            "--record-size",
            str(size),
            "--throughput",
            "-1",
            "--producer-props",
            f"bootstrap.servers={settings.kafka_bootstrap}",
            "acks=all",
            "enable.idempotence=true",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=settings.bench_timeout_s,
    ).stdout
    match = re.findall(r"([\d.]+) records/sec", out)
    return float(match[-1])


def kafka_consumer_perf(settings: BenchSettings, topic: str) -> float:
    """records/s of Kafka's ConsumerPerformance reading the same topic."""
    out = subprocess.run(
        [
            STACK,
            "kafka-tool",
            "org.apache.kafka.tools.ConsumerPerformance",
            "--bootstrap-server",
            settings.kafka_bootstrap,
            "--topic",
            topic,
            "--messages",
            str(settings.bench_records),
            "--timeout",
            "60000",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=settings.bench_timeout_s,
    ).stdout
    header, row = [line for line in out.splitlines() if line.strip()][-2:]
    columns = dict(zip([c.strip() for c in header.split(",")], [v.strip() for v in row.split(",")], strict=False))
    return float(columns["nMsg.sec"])


async def raw_producer(settings: BenchSettings, topic: str, payload: bytes) -> float:
    """records/s of a plain aiokafka producer, acks=all, idempotent, keyed, waiting for every batch at the end."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, enable_idempotence=True, acks="all")
    await producer.start()
    try:
        started = time.perf_counter()
        futures = [await producer.send(topic, payload, key=str(i).encode()) for i in range(settings.bench_records)]
        await asyncio.gather(*futures)
        return settings.bench_records / (time.perf_counter() - started)
    finally:
        await producer.stop()


async def raw_relay(settings: BenchSettings, source: str, payload_count: int) -> float:
    """records/s of a raw consume → produce hop with the services' cadence: send and wait, then commit, per record."""
    target = await fresh_topic(settings.kafka_bootstrap, "relay-out")
    consumer = AIOKafkaConsumer(
        source,
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=f"bench-relay-{uuid.uuid4().hex[:6]}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, enable_idempotence=True, acks="all")
    await consumer.start()
    await producer.start()
    try:
        done = 0
        started = 0.0
        while done < payload_count:
            batch = await consumer.getmany(timeout_ms=1000, max_records=500)
            for records in batch.values():
                for record in records:
                    if not started:
                        started = time.perf_counter()
                    await producer.send_and_wait(target, record.value, key=record.key, headers=record.headers)
                    await consumer.commit()
                    done += 1
        return done / (time.perf_counter() - started)
    finally:
        await consumer.stop()
        await producer.stop()
