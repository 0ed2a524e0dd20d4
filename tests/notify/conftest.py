"""Fixtures of notify's tests on the real broker."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from shared.messaging.kafka import EventPublisher, make_broker
from shared.messaging.kafka_auth import operator_options
from tests.support.endpoints import Endpoints


@pytest.fixture
async def publisher(endpoints: Endpoints) -> AsyncIterator[EventPublisher]:
    """A publisher on the real broker, logged in as the operator (what a delivery's failure publishes)."""
    broker = make_broker(bootstrap=endpoints.kafka_bootstrap, service="test-notify", security=operator_options())
    await broker.start()
    yield EventPublisher(broker, source="/test")
    await broker.stop()
