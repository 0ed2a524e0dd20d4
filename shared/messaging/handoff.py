"""The hand-off topics let a record go once every service that reads it has taken it.

A bulk or automated source writes its reports to ``weerbaar.incident.reported.v1`` as it holds them, in clear
(contract.md), and triage copies a possibly acute one to ``weerbaar.incident.urgent.v1`` byte for byte. No per-case
key reaches those copies, so an erasure could not reach them on the log; nor does it reach the acute lane's copies of
decisions (``weerbaar.case.triaged.urgent.v1``, with the office holder's pseudonym), which triage does not publish
again without it as it does on the main topic. Instead the log keeps such a record only until
every reader has it: intake trims each partition of the hand-off topics (Kafka's DeleteRecords) up to the lowest
offset that the readers have committed. Each service keeps its own copy (sealed), so nothing is lost.

Who holds the trim back, so that nothing unread is deleted:
* every consumer group of this installation (``<group prefix>-…``) with an offset on the partition, whatever its
  state (a service that is restarting has no members, and still has to read what it has not read). Only the
  platform's services may read these topics (``shared/contracts/principals.py``); a tool that must read them joins a
  group under the installation's prefix;
* fail closed: while one of the services that read the topic (``principals.CONSUMES``) has not committed on a
  partition yet (a new install, a new partition), that partition is not trimmed at all;
* the acute watch groups (``…-acute-watch``, keys only, from the latest offset) do not stand for their service.

A record goes only once every reader had passed it ``grace_s`` ago (30 s by default): a consumer that is joining or
about to commit a rewind has that long.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.records_to_delete import RecordsToDelete
from aiokafka.structs import TopicPartition

from shared.contracts.principals import CONSUMES
from shared.contracts.topics import HANDOFF_TOPICS
from shared.runtime import metrics

log = structlog.get_logger("weerbaar.handoff")

WATCH_SUFFIX = "-acute-watch"
"""The groups that only watch urgent keys (``shared.runtime.service``): never a topic's reader of record."""


def readers_of(topic: str) -> tuple[str, ...]:
    """The services that consume ``topic``: each has to have committed on a partition before it is trimmed."""
    return tuple(service for service, consumed in CONSUMES.items() if topic in consumed)


@dataclass(frozen=True, slots=True)
class Group:
    """A consumer group of this installation as the trim sees it: its name and its committed offsets."""

    name: str
    committed: Mapping[TopicPartition, int]


def trim_points(
    partitions: Iterable[TopicPartition], groups: Sequence[Group], *, prefix: str
) -> dict[TopicPartition, int]:
    """Where each partition may start now: the lowest offset the installation's groups committed there, if every
    reading service has committed there (a partition left out is not trimmed)."""
    own = f"{prefix}-"
    points: dict[TopicPartition, int] = {}
    for tp in partitions:
        offsets = {g.name: g.committed[tp] for g in groups if g.committed.get(tp, -1) >= 0 and g.name.startswith(own)}
        readers = [f"{own}{service}-" for service in readers_of(tp.topic)]
        if not readers or not offsets:
            continue
        has_read = [
            any(name.startswith(reader) and not name.endswith(WATCH_SUFFIX) for name in offsets) for reader in readers
        ]
        if not all(has_read):
            continue
        points[tp] = min(offsets.values())
    return points


class Ripening:
    """Trim points that become due only ``grace_s`` after they were seen: every reader had passed them that long."""

    def __init__(self, grace_s: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._grace_s = grace_s
        self._clock = clock
        self._seen: deque[tuple[float, dict[TopicPartition, int]]] = deque()
        self._due: dict[TopicPartition, int] = {}

    def due(self, seen_now: Mapping[TopicPartition, int]) -> dict[TopicPartition, int]:
        """Record what may go now; return what could go ``grace_s`` ago (committed offsets only move forward)."""
        now = self._clock()
        self._seen.append((now, dict(seen_now)))
        while self._seen and self._seen[0][0] <= now - self._grace_s:
            self._due.update(self._seen.popleft()[1])
        return dict(self._due)


class HandOff:
    """Trims the hand-off topics behind their readers; run by intake on a schedule (``WEERBAAR_HANDOFF_TRIM_S``)."""

    def __init__(
        self,
        bootstrap: str,
        login: Mapping[str, Any],
        *,
        prefix: str,
        grace_s: float,
        topics: Sequence[str] = HANDOFF_TOPICS,
    ) -> None:
        self._bootstrap = bootstrap
        self._login = dict(login)
        self._prefix = prefix
        self._topics = tuple(topics)
        self._ripening = Ripening(grace_s)
        self._low: dict[TopicPartition, int] = {}

    async def trim_once(self) -> dict[TopicPartition, int]:
        """One round: returns the partitions trimmed, with their new start."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self._bootstrap, client_id="weerbaar-handoff", **self._login)
        await admin.start()
        try:
            partitions = await self._partitions(admin)
            groups = await self._groups(admin, partitions)
            seen = trim_points(partitions, groups, prefix=self._prefix)
            # Nothing is asked for twice: a point no further than the start already trimmed to is left out.
            points = {tp: o for tp, o in self._ripening.due(seen).items() if o > self._low.get(tp, 0)}
            if not points:
                return {}
            wanted = {tp: RecordsToDelete(before_offset=o) for tp, o in points.items()}
            starts: dict[TopicPartition, int] = await admin.delete_records(wanted)
        finally:
            await admin.close()
        for tp, start in starts.items():
            if tp in self._low:  # the first round after a start does not know how many went before it
                metrics.HANDOFF_TRIMMED.labels(tp.topic).inc(max(0, start - self._low[tp]))
            self._low[tp] = start
        log.info("handoff_trimmed", partitions=len(starts))
        return starts

    async def _partitions(self, admin: AIOKafkaAdminClient) -> list[TopicPartition]:
        described = await admin.describe_topics(list(self._topics))
        found: list[TopicPartition] = [
            TopicPartition(str(t["topic"]), int(p["partition"]))
            for t in described
            if not t.get("error_code")
            for p in t.get("partitions", ())
        ]
        return sorted(found)

    async def _groups(self, admin: AIOKafkaAdminClient, partitions: list[TopicPartition]) -> list[Group]:
        own = f"{self._prefix}-"
        names = sorted({str(listed[0]) for listed in await admin.list_consumer_groups()})
        groups = []
        for name in (n for n in names if n.startswith(own)):
            committed = await admin.list_consumer_group_offsets(name, partitions=partitions)
            offsets = {tp: meta.offset for tp, meta in committed.items() if meta.offset >= 0}
            if offsets:
                groups.append(Group(name, offsets))
        return groups
