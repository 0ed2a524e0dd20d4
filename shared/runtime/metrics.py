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
OUTBOX_UNSENT = Gauge(
    "weerbaar_outbox_unsent",
    "Aggregates holding events the broker has not acknowledged (waiting for the outbox relay)",
    ["service"],
)
CONSUMER_IDLE = Gauge(
    "weerbaar_consumer_idle_seconds",
    "Seconds since a consumer group with lag last moved a partition (0 while it has no lag)",
    ["service", "group"],
)
READY = Gauge(
    "weerbaar_ready",
    "1 when the service is ready (broker, store, partitions held, progress), else 0; judged at each scrape",
    ["service"],
)
NOTIFICATIONS = Counter(
    "weerbaar_notifications",
    "Notification states published (sent, acknowledged, escalated, failed, followup_overdue)",
    ["recipient", "level", "state"],
)
ESCALATIONS_EXHAUSTED = Counter(
    "weerbaar_escalations_exhausted",
    "Notifications re-sent for the last time (WEERBAAR_ACK_MAX_RESENDS) without an acknowledgement",
    ["recipient", "level"],
)
MAILS = Counter(
    "weerbaar_mails",
    "E-mails by purpose (notification, reporter) and outcome (delivered, failed after the last attempt)",
    ["purpose", "outcome"],
)
ACUTE_POLICE_SECONDS = Histogram(
    "weerbaar_acute_police_seconds",
    "From a report's arrival at intake to its police notification acknowledged by the broker (first sending)",
    ["level"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
)
HANDOFF_TRIMMED = Counter(
    "weerbaar_handoff_trimmed_records",
    "Records trimmed from a hand-off topic once every reader had them (shared/messaging/handoff.py)",
    ["topic"],
)
