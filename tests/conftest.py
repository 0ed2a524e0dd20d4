"""Fixtures that give tests the real broker and store, and the services running against them."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from shared.contracts.principals import DEV_MUNICIPALITIES
from shared.messaging.kafka import provision_topics
from shared.messaging.kafka_auth import operator_options
from shared.store.mongo import Document
from tests.support.endpoints import Endpoints, real_endpoints
from tests.support.mailbox import Mailbox, start_relay
from tests.support.otlp import TraceReceiver
from tests.support.services import SERVICES, RunningServices, free_port, service_env, start_groups_at_end

# Tests are development: settings built in-process use the checkout's generated keys (a test of production
# behaviour passes dev_mode=False explicitly).
os.environ.setdefault("WEERBAAR_DEV_MODE", "true")

ARTIFACTS = Path(__file__).resolve().parents[1] / ".artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
MAYOR_OFFICE_MUNICIPALITY = "GM0014"
MAYOR_OFFICE = "oov@gm0014.example.nl"
"""The test services tell this municipality's burgemeester office by e-mail (no other test reports there)."""


@pytest.fixture(scope="session")
def endpoints() -> Iterator[Endpoints]:
    with real_endpoints() as found:
        asyncio.run(
            provision_topics(found.kafka_bootstrap, security=operator_options(), municipalities=DEV_MUNICIPALITIES)
        )
        yield found


@pytest.fixture(scope="session")
def run_id() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture(scope="session")
async def store(endpoints: Endpoints, run_id: str) -> AsyncIterator[AsyncDatabase[Document]]:
    """A database of this test run's own (random name instead of cleanup)."""
    client: AsyncMongoClient[Document] = AsyncMongoClient(endpoints.mongodb_uri, tz_aware=True)
    yield client[f"test_{run_id}"]
    await client.close()


@pytest.fixture(scope="session")
def traces() -> Iterator[TraceReceiver]:
    """An OTLP receiver in the test process that the services under test export their spans to."""
    receiver = TraceReceiver()
    receiver.start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="session")
def mailbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mailbox]:
    """A real SMTP relay (aiosmtpd) that requires STARTTLS, with a certificate made for the run."""
    controller, found = start_relay(tmp_path_factory.mktemp("relay"), free_port())
    yield found
    controller.stop()


@pytest.fixture(scope="session")
def services(endpoints: Endpoints, run_id: str, traces: TraceReceiver, mailbox: Mailbox) -> Iterator[RunningServices]:
    """The four services as real processes, sharing this run's database, tracing to ``traces``."""
    log_dir = ARTIFACTS / f"services-{run_id}"
    log_dir.mkdir(parents=True, exist_ok=True)
    ports = {service: free_port() for service in SERVICES}
    env = service_env(
        kafka=endpoints.kafka_bootstrap,
        mongo=endpoints.mongodb_uri,
        db=f"test_{run_id}",
        group_prefix=f"test-{run_id}",
        ports=ports,
    )
    # Traced, but only what a test asks for: a request with a sampled `traceparent` (ratio 0 for everything else,
    # so the suite's other tests do not pay for spans nobody reads).
    env.update(
        {
            "WEERBAAR_OTLP_ENDPOINT": traces.endpoint,
            "WEERBAAR_TRACE_SAMPLE_RATIO": "0",
            "OTEL_BSP_SCHEDULE_DELAY": "500",
        }
    )
    # E-mail through the test relay, STARTTLS with its own certificate: one burgemeester office, and every reporter
    # who consents; links point at the test services.
    env.update(
        {
            "WEERBAAR_SMTP_HOST": mailbox.host,
            "WEERBAAR_SMTP_PORT": str(mailbox.port),
            "WEERBAAR_SMTP_CA_FILE": str(mailbox.ca_file),
            "WEERBAAR_SMTP_FROM": "weerbaar@test.example.nl",
            "WEERBAAR_EMAIL_RECIPIENTS": json.dumps({f"burgemeester:{MAYOR_OFFICE_MUNICIPALITY}": MAYOR_OFFICE}),
            "WEERBAAR_EMAIL_BACKOFF_S": "0.2",
            "WEERBAAR_EMAIL_INTERVAL_S": "0.3",
            "WEERBAAR_PUBLIC_INTAKE_URL": f"http://127.0.0.1:{ports['intake']}",
            "WEERBAAR_PUBLIC_NOTIFY_URL": f"http://127.0.0.1:{ports['notify']}",
        }
    )
    running = RunningServices(env=env, ports=ports, log_dir=log_dir)
    asyncio.run(start_groups_at_end(endpoints.kafka_bootstrap, f"test-{run_id}"))
    for service in SERVICES:
        running.start(service)
    try:
        running.wait_ready()
        yield running
    finally:
        running.stop_all()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that stop the broker run last, so they cannot disturb the others."""
    items.sort(key=lambda item: item.get_closest_marker("disruptive") is not None)
