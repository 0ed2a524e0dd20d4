"""Where the services' store time goes: ``weerbaar_store_seconds`` scraped from every service before and after."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from prometheus_client.parser import text_string_to_metric_families

SERVICE_PORTS = {"intake": 8081, "triage": 8082, "notify": 8083, "reporting": 8084}
Key = tuple[str, str, str, str]  # service, collection, command, shape


@dataclass(frozen=True, slots=True)
class Spent:
    seconds: float
    commands: float


async def snapshot(ports: dict[str, int] = SERVICE_PORTS) -> dict[Key, Spent]:
    """Seconds and command counts per (service, collection, command, shape), summed over outcomes."""
    totals: dict[Key, list[float]] = {}
    async with httpx.AsyncClient(timeout=5.0) as client:
        for port in ports.values():
            try:
                text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
            except httpx.HTTPError:
                continue
            for family in text_string_to_metric_families(text):
                if family.name != "weerbaar_store_seconds":
                    continue
                for sample in family.samples:
                    if sample.name not in ("weerbaar_store_seconds_sum", "weerbaar_store_seconds_count"):
                        continue
                    labels = sample.labels
                    key = (labels["service"], labels["collection"], labels["command"], labels["shape"])
                    slot = totals.setdefault(key, [0.0, 0.0])
                    slot[0 if sample.name.endswith("_sum") else 1] += sample.value
    return {key: Spent(seconds, count) for key, (seconds, count) in totals.items()}


def top(before: dict[Key, Spent], after: dict[Key, Spent], n: int = 12) -> list[dict[str, object]]:
    """The ``n`` query shapes that took the most store time between two snapshots."""
    rows = []
    for key, spent in after.items():
        was = before.get(key, Spent(0.0, 0.0))
        seconds, commands = spent.seconds - was.seconds, spent.commands - was.commands
        if commands > 0:
            service, collection, command, shape = key
            rows.append(
                {
                    "service": service,
                    "collection": collection,
                    "command": command,
                    "shape": shape,
                    "seconds": round(seconds, 3),
                    "commands": int(commands),
                    "ms_each": round(1000 * seconds / commands, 2),
                }
            )
    return sorted(rows, key=lambda row: float(str(row["seconds"])), reverse=True)[:n]


def commands_by_service(before: dict[Key, Spent], after: dict[Key, Spent]) -> dict[str, int]:
    """Store commands each service sent between two snapshots, over all collections, commands and shapes."""
    out: dict[str, int] = {}
    for key, spent in after.items():
        out[key[0]] = out.get(key[0], 0) + int(spent.commands - before.get(key, Spent(0.0, 0.0)).commands)
    return out
