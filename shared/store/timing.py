"""Time every store command by the shape of its filter, so a slow query is found by name (docs/performance.md).

A shape holds field names and operators only (``due_at:$lte,acknowledged:$ne``), never values: no personal data
reaches the metric, and the number of shapes is bounded by the code, not by the data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pymongo import monitoring

from shared.runtime.metrics import STORE_SECONDS

# command name → where its filter is
_FILTERS: dict[str, tuple[str, ...]] = {
    "find": ("filter",),
    "count": ("query",),
    "findAndModify": ("query",),
    "update": ("updates", "0", "q"),
    "delete": ("deletes", "0", "q"),
    "aggregate": ("pipeline", "0", "$match"),
    "distinct": ("query",),
    "insert": (),
}


def shape(filter: Any) -> str:
    """``{"_id": "x", "n": {"$lte": 3, "$ne": 1}}`` → ``"_id,n:$lte|$ne"``; ``"-"`` for no filter."""
    if not isinstance(filter, Mapping) or not filter:
        return "-"
    parts = []
    for key in sorted(filter):
        value = filter[key]
        if isinstance(value, Mapping) and value and all(str(op).startswith("$") for op in value):
            parts.append(f"{key}:{'|'.join(sorted(value))}")
        elif key.startswith("$") and isinstance(value, list):
            parts.append(f"{key}({';'.join(shape(v) for v in value)})")
        else:
            parts.append(key)
    return ",".join(parts)


def _dig(command: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = command
    for step in path:
        if isinstance(value, list):
            value = value[int(step)] if value else None
        elif isinstance(value, Mapping):
            value = value.get(step)
        else:
            return None
    return value


def command_shape(event: monitoring.CommandStartedEvent) -> tuple[str, str, str]:
    """(collection, command, filter shape) of a command; the shape is ``-`` where a command has no filter."""
    path = _FILTERS.get(event.command_name)
    named = event.command.get(event.command_name)
    collection = named if isinstance(named, str) else "-"  # ping, hello, getMore name no collection
    return collection, event.command_name, shape(_dig(event.command, path)) if path else "-"


class StoreTimer(monitoring.CommandListener):
    """A PyMongo command listener that feeds ``weerbaar_store_seconds``."""

    def __init__(self, service: str) -> None:
        self._service = service
        self._pending: dict[tuple[int, int], tuple[str, str, str]] = {}

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name in _FILTERS:
            self._pending[(event.request_id, event.operation_id or 0)] = command_shape(event)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        self._observe(event, "ok")

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self._observe(event, "failed")

    def _observe(self, event: monitoring.CommandSucceededEvent | monitoring.CommandFailedEvent, outcome: str) -> None:
        key = self._pending.pop((event.request_id, event.operation_id or 0), None)
        if key is not None:
            STORE_SECONDS.labels(self._service, *key, outcome).observe(event.duration_micros / 1e6)
