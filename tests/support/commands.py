"""Counting the commands a test's client sends to one collection (a pymongo command listener)."""

from __future__ import annotations

from collections import Counter

from pymongo import monitoring


class Commands(monitoring.CommandListener):
    """Counts the commands sent to one collection, by name."""

    def __init__(self, collection: str) -> None:
        self.collection = collection
        self.seen: Counter[str] = Counter()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command.get(event.command_name) == self.collection:
            self.seen[event.command_name] += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        return None

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        return None
