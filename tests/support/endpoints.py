"""Where the real broker and store are: from the environment, or testcontainers when Docker answers."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Endpoints:
    kafka_bootstrap: str
    mongodb_uri: str


def docker_answers() -> bool:
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@contextmanager
def real_endpoints() -> Iterator[Endpoints]:
    """Environment endpoints first (what `make test` sets); else Kafka and MongoDB containers."""
    kafka = os.environ.get("WEERBAAR_KAFKA_BOOTSTRAP")
    mongo = os.environ.get("WEERBAAR_MONGODB_URI")
    if kafka and mongo:
        yield Endpoints(kafka, mongo)
        return
    if not docker_answers():
        raise RuntimeError(
            "No broker and store: run the suite through `make test` (starts the local stack), set "
            "WEERBAAR_KAFKA_BOOTSTRAP and WEERBAAR_MONGODB_URI, or provide a Docker engine for testcontainers."
        )
    from testcontainers.kafka import KafkaContainer
    from testcontainers.mongodb import MongoDbContainer

    with KafkaContainer("apache/kafka:4.1.1").with_kraft() as kafka_c, MongoDbContainer("mongo:8.0") as mongo_c:
        yield Endpoints(kafka_c.get_bootstrap_server(), mongo_c.get_connection_url())
