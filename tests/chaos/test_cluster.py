"""The cluster part, proved locally: three brokers from the same jars, kill -9 one mid-stream, nothing lost.

A topic of 6 partitions, replication 3, min.insync.replicas 2. An idempotent producer (acks=all) sends numbered
records and awaits every acknowledgement; a third of the way in, the broker that leads the most partitions is
killed. Every send must still succeed (no send is retried by the test), and reading the topic back from offset 0 must
give each sequence number exactly once. The cluster is secured as production is (SASL/SCRAM on every listener, ACLs
deny by default): the proof runs as the operator principal, and a client without credentials is refused.
"""

from __future__ import annotations

import asyncio
import functools
import os
import signal
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError

from tests.chaos.cluster import NODES, Cluster

pytestmark = pytest.mark.chaos

RECORDS = int(os.environ.get("WEERBAAR_CLUSTER_RECORDS", "20000"))
PARTITIONS = 6
IN_FLIGHT = 2000  # unacknowledged sends at most; the kill lands while these are on the wire
KEYS = 101

T = TypeVar("T")


@pytest.fixture(scope="module")
async def cluster() -> AsyncIterator[Cluster]:
    private = Cluster.from_env()
    assert 9092 not in {private.port(n) for n in NODES}, "the chaos suite never touches the shared broker"
    private.reset()
    try:
        seconds = await private.start()
        print(f"\ncluster: 3 brokers up at {private.bootstrap} in {seconds:.1f} s")
        yield private
    finally:
        private.stop()


async def _poll(what: str, probe: Callable[[], Awaitable[T | None]], timeout_s: float = 90.0) -> T:
    """Ask until the probe gives an answer (not None); a broker that is away answers with an error, so ask again."""
    deadline = time.monotonic() + timeout_s
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            found = await probe()
            if found is not None:
                return found
        except (KafkaError, OSError) as exc:
            last = exc
        await asyncio.sleep(0.5)
    raise TimeoutError(f"{what}: no answer in {timeout_s} s (last error: {last!r})")


async def _partitions(bootstrap: str, topic: str) -> dict[int, dict[str, Any]]:
    """partition -> {leader, replicas, isr} from a fresh metadata request."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000, **Cluster.login())
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    if described["error_code"] != 0:
        raise KafkaError(f"describe {topic}: error {described['error_code']}")
    return {p["partition"]: p for p in described["partitions"] if p["error_code"] == 0}


def _whole(topic: str, bootstrap: str) -> Callable[[], Awaitable[dict[int, dict[str, Any]] | None]]:
    """A probe: every partition has a leader and all three replicas in sync."""

    async def probe() -> dict[int, dict[str, Any]] | None:
        found = await _partitions(bootstrap, topic)
        ok = len(found) == PARTITIONS and all(p["leader"] in NODES and len(p["isr"]) == 3 for p in found.values())
        return found if ok else None

    return probe


@dataclass
class Stream:
    sent_at: list[float] = field(default_factory=lambda: [0.0] * RECORDS)
    acked_at: list[float] = field(default_factory=lambda: [0.0] * RECORDS)
    failures: dict[int, BaseException] = field(default_factory=dict)
    acked: int = 0
    killed_at: float = 0.0
    in_flight_at_kill: int = 0
    kill_exit: int | None = None


async def _produce(cluster: Cluster, topic: str, victim: int, kill_at: int) -> Stream:
    """Send RECORDS numbered records and await every acknowledgement; kill -9 the victim after kill_at sends."""
    stream = Stream()
    window = asyncio.Semaphore(IN_FLIGHT)
    producer = AIOKafkaProducer(
        bootstrap_servers=cluster.bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        request_timeout_ms=40_000,
        client_id="cluster-proof",
        **cluster.login(),
    )

    def done(seq: int, fut: asyncio.Future[Any]) -> None:
        stream.acked_at[seq] = time.monotonic()
        window.release()
        if fut.cancelled():
            stream.failures[seq] = asyncio.CancelledError()
        elif (exc := fut.exception()) is not None:
            stream.failures[seq] = exc
        else:
            stream.acked += 1

    futures: list[asyncio.Future[Any]] = []
    await producer.start()
    try:
        for seq in range(RECORDS):
            if seq == kill_at:
                stream.in_flight_at_kill = seq - stream.acked - len(stream.failures)
                stream.killed_at = time.monotonic()
                stream.kill_exit = cluster.kill(victim)  # kill -9, and wait until the process is gone
            await window.acquire()
            stream.sent_at[seq] = time.monotonic()
            fut = await producer.send(topic, value=str(seq).encode(), key=f"k{seq % KEYS}".encode())
            fut.add_done_callback(functools.partial(done, seq))
            futures.append(fut)
        await asyncio.wait(futures, timeout=120)
    finally:
        await producer.stop()
    return stream


async def _read_back(bootstrap: str, topic: str) -> tuple[Counter[int], int]:
    """Every record of the topic from offset 0, with a consumer group of its own; returns seq counts, log size."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"cluster-proof-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        **Cluster.login(),
    )
    await consumer.start()
    try:
        end = await consumer.end_offsets([TopicPartition(topic, p) for p in range(PARTITIONS)])
        upto = dict.fromkeys(end, 0)
        seen: Counter[int] = Counter()
        deadline = time.monotonic() + 120
        while any(upto[tp] < end[tp] for tp in end):
            assert time.monotonic() < deadline, f"read back stalled at {upto} of {end}"
            batch = await consumer.getmany(timeout_ms=1000)
            for tp, records in batch.items():
                for r in records:
                    if r.offset < end[tp]:
                        seen[int(r.value)] += 1
                    upto[tp] = r.offset + 1
        return seen, sum(end.values())
    finally:
        await consumer.stop()


async def test_a_three_broker_cluster_loses_nothing_when_a_broker_dies_mid_stream(cluster: Cluster) -> None:
    topic = f"test.cluster-proof-{uuid.uuid4().hex[:8]}"  # the operator's scratch prefix
    admin = AIOKafkaAdminClient(bootstrap_servers=cluster.bootstrap, **cluster.login())
    await admin.start()
    try:
        await admin.create_topics(
            [
                NewTopic(
                    topic, num_partitions=PARTITIONS, replication_factor=3, topic_configs={"min.insync.replicas": "2"}
                )
            ]
        )
    finally:
        await admin.close()
    before = await _poll("topic whole", _whole(topic, cluster.bootstrap))
    led = Counter(p["leader"] for p in before.values())
    victim = max(NODES, key=lambda n: (led[n], -n))
    victim_partitions = sorted(p for p, meta in before.items() if meta["leader"] == victim)

    started = time.monotonic()
    stream = await _produce(cluster, topic, victim, kill_at=RECORDS // 3)
    produced_s = time.monotonic() - started

    assert stream.kill_exit == -signal.SIGKILL, f"node {victim} was not killed by SIGKILL (exit {stream.kill_exit})"
    assert not stream.failures, f"{len(stream.failures)} sends failed, e.g. {next(iter(stream.failures.items()))}"
    assert stream.acked == RECORDS, f"only {stream.acked} of {RECORDS} sends were acknowledged"
    after_kill = await _poll(
        "leaders moved off the killed broker",
        lambda: _leaders_without(cluster.bootstrap, topic, victim),
    )
    acks = sorted(t for t in stream.acked_at if t >= stream.killed_at)
    outage_s = max(b - a for a, b in zip([stream.killed_at, *acks], acks, strict=False))
    latencies = [a - s for s, a in zip(stream.sent_at, stream.acked_at, strict=True)]

    restart_s = await cluster.restart(victim)
    rejoin = time.monotonic()
    await _poll("killed broker back in sync", _whole(topic, cluster.bootstrap))
    rejoin_s = time.monotonic() - rejoin

    seen, log_size = await _read_back(cluster.bootstrap, topic)
    missing = [seq for seq in range(RECORDS) if seen[seq] == 0]
    twice = {seq: n for seq, n in seen.items() if n > 1}
    strays = [seq for seq in seen if not 0 <= seq < RECORDS]

    print(
        f"\ncluster: records {RECORDS} in {PARTITIONS} partitions (rf 3, min isr 2), produced in {produced_s:.1f} s\n"
        f"cluster: kill -9 node {victim} after record {RECORDS // 3} with {stream.in_flight_at_kill} sends in flight; "
        f"it led partitions {victim_partitions} of leaders {dict(sorted(led.items()))}; "
        f"leaders after {dict(sorted(Counter(after_kill.values()).items()))}\n"
        f"cluster: outage seen by the producer {outage_s:.1f} s (longest gap between acks after the kill), "
        f"max send latency {max(latencies):.1f} s, failed sends {len(stream.failures)}\n"
        f"cluster: node {victim} restarted in {restart_s:.1f} s, back in every ISR {rejoin_s:.1f} s later\n"
        f"cluster: read back {sum(seen.values())} records (log {log_size}), distinct {len(seen)}, "
        f"missing {len(missing)}, duplicates {len(twice)}"
    )
    assert not missing, f"lost {len(missing)} acknowledged records, e.g. {missing[:10]}"
    assert not twice, f"{len(twice)} records twice, e.g. {list(twice.items())[:10]}"
    assert not strays
    assert log_size == RECORDS, "the log holds more records than were sent"


async def test_the_cluster_refuses_a_client_without_credentials(cluster: Cluster) -> None:
    anonymous = AIOKafkaAdminClient(bootstrap_servers=cluster.bootstrap, request_timeout_ms=5000)
    with pytest.raises(KafkaError):
        await asyncio.wait_for(anonymous.start(), 30)
    await anonymous.close()


async def _leaders_without(bootstrap: str, topic: str, gone: int) -> dict[int, int] | None:
    found = await _partitions(bootstrap, topic)
    leaders = {p: meta["leader"] for p, meta in found.items()}
    ok = len(leaders) == PARTITIONS and all(leader in NODES and leader != gone for leader in leaders.values())
    return leaders if ok else None
