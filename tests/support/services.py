"""Run the four services as real processes against the real broker and store, on free ports."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from shared.contracts.principals import DEV_MUNICIPALITIES
from shared.contracts.topics import CONSUMED_TOPICS, municipal_topics
from shared.messaging.kafka_auth import operator_options
from shared.web.auth import DEFAULT_DEV_DIR as DEV_JWT_DIR
from shared.web.auth import ensure_dev_keys

SERVICES = ("intake", "triage", "notify", "reporting")
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RunningServices:
    env: dict[str, str]
    ports: dict[str, int]
    log_dir: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def start(self, service: str) -> None:
        log = (self.log_dir / f"{service}.log").open("ab")
        self.processes[service] = subprocess.Popen(
            [sys.executable, "-m", f"services.{service}"], cwd=ROOT, env=self.env, stdout=log, stderr=log
        )

    def wait_ready(self, timeout: float = 90.0, services: tuple[str, ...] = SERVICES) -> None:
        deadline = time.monotonic() + timeout
        pending = set(services)
        last: dict[str, str] = {}
        while pending:
            for service in list(pending):
                proc = self.processes[service]
                if proc.poll() is not None:
                    raise RuntimeError(f"{service} exited with {proc.returncode}; see {self.log_dir}/{service}.log")
                try:
                    response = httpx.get(self.url(service) + "/readyz", timeout=5)
                    if response.status_code == 200:
                        pending.discard(service)
                    last[service] = response.text
                except httpx.HTTPError as exc:
                    last[service] = type(exc).__name__
            if pending and time.monotonic() > deadline:
                waiting = {s: last.get(s) for s in pending}
                raise RuntimeError(f"not ready in {timeout} s: {waiting}")
            if pending:
                time.sleep(0.3)

    def stop(self, service: str, sig: int = signal.SIGTERM, timeout: float = 25.0) -> int:
        proc = self.processes[service]
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return proc.returncode

    def stop_all(self) -> dict[str, int]:
        return {service: self.stop(service) for service in list(self.processes)}


def service_env(*, kafka: str, mongo: str, db: str, group_prefix: str, ports: dict[str, int]) -> dict[str, str]:
    ensure_dev_keys(DEV_JWT_DIR)  # before the services start, so tests and services share one pair
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEERBAAR_")}
    env.update(
        {
            "WEERBAAR_KAFKA_BOOTSTRAP": kafka,
            "WEERBAAR_MONGODB_URI": mongo,
            "WEERBAAR_MONGODB_DB": db,
            "WEERBAAR_GROUP_PREFIX": group_prefix,
            "WEERBAAR_OUTBOX_INTERVAL_S": "0.5",
            "WEERBAAR_RETRY_BACKOFF_S": "0.05",
            "WEERBAAR_DEV_JWT_DIR": str(DEV_JWT_DIR),
            "WEERBAAR_DEV_MODE": "true",  # the checkout's generated keys (shared.security.keys), as `make run` uses
            "WEERBAAR_RATE_LIMIT_PER_MINUTE": "300",
            # The hand-off topics are trimmed within seconds here (tests/e2e/test_handoff.py waits for it).
            "WEERBAAR_HANDOFF_TRIM_S": "2",
            "WEERBAAR_HANDOFF_GRACE_S": "5",
            "PYTHONUNBUFFERED": "1",
        }
    )
    for service, port in ports.items():
        env[f"WEERBAAR_{service.upper()}_PORT"] = str(port)
    return env


async def start_groups_at_end(bootstrap: str, group_prefix: str) -> None:
    """Commit the current end of every consumed topic for this run's consumer groups.

    The services of a test run then read only what is published during the run, not the broker's whole history
    (which other runs and `make run` leave behind), and no record published after this point can be missed.
    """
    import asyncio

    from aiokafka import AIOKafkaConsumer, TopicPartition

    async def commit_end(group: str, topic: str) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False, **operator_options()
        )
        await consumer.start()
        try:
            for _ in range(50):
                if consumer.partitions_for_topic(topic):
                    break
                await consumer._client.force_metadata_update()
            partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
            if not partitions:
                raise RuntimeError(f"topic {topic} has no partitions: were the topics provisioned?")
            consumer.assign(partitions)
            end = await consumer.end_offsets(partitions)
            await consumer.commit(end)
        finally:
            await consumer.stop()

    await asyncio.gather(
        *(commit_end(group, topic) for group, topics in consumer_groups(group_prefix) for topic in topics)
    )


def consumer_groups(group_prefix: str) -> list[tuple[str, list[str]]]:
    """Every consumer group of the four services and the topics it reads, as the services themselves register them
    (a consumer may read several topics under a name of its own, e.g. intake's ``case-file``)."""
    import importlib

    groups: list[tuple[str, list[str]]] = []
    for service in SERVICES:
        app_module = importlib.import_module(f"services.{service}.app")
        settings_module = importlib.import_module(f"services.{service}.settings")
        app = app_module.create_app(settings_module.Settings(group_prefix=group_prefix))  # connects nothing
        for subscriber in app.state.runtime.subscribers:
            topics = [topic.name for topic in subscriber.topics if topic.name in CONSUMED_TOPICS]
            if subscriber.pattern is not None:  # the provisioned topics it matches (tests/conftest.py)
                matches = re.compile(subscriber.pattern.broker_address).match
                topics = [t for m in DEV_MUNICIPALITIES for t in municipal_topics(m) if matches(t)]
            if topics and not subscriber.group_id.endswith("-acute-watch"):  # the watch reads from the latest
                groups.append((subscriber.group_id, topics))
    return groups
