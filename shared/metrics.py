"""Prometheus metrics shared by the services (defined once per process)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

MESSAGES = Counter(
    "weerbaar_messages_total",
    "Consumed messages by outcome (ok, retried, dead_lettered, duplicate)",
    ["service", "topic", "outcome"],
)
HANDLE_SECONDS = Histogram(
    "weerbaar_handle_seconds",
    "Time to handle one consumed message",
    ["service", "topic"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
PUBLISHED = Counter("weerbaar_published_total", "Records published", ["service", "topic"])
OUTBOX_PENDING = Gauge("weerbaar_outbox_pending", "Documents with unsent events", ["service"])
CONSUMER_LAG = Gauge(
    "weerbaar_consumer_lag",
    "Records between a consumer's position and the high watermark",
    ["service", "group", "topic", "partition"],
)
STORE_SECONDS = Histogram(
    "weerbaar_store_seconds",
    "Store commands by collection, command and filter shape (field names and operators, never values)",
    ["service", "collection", "command", "shape", "outcome"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
ACUTE_YIELDS = Counter(
    "weerbaar_acute_yields",
    "Times routine work found the acute gate closed and waited",
    ["service"],
)
ACUTE_YIELD_SECONDS = Counter(
    "weerbaar_acute_yield_seconds",
    "Seconds routine work waited so that acute work had the store to itself",
    ["service"],
)
DEV_MODE = Gauge(
    "weerbaar_dev_mode",
    "1 while the service runs in development mode (keys generated per checkout, not for production)",
    ["service"],
)
