"""weerbaar end to end: reports injected on incident.reported until triaged, notified, counted and in the case file."""

from __future__ import annotations

import asyncio
import functools
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient
from rich.progress import Progress

from bench.config import BenchSettings
from services.notify.domain import notification_id
from services.triage.assessment import CaseAssessment, Incident, Lane
from services.triage.domain import Histories
from services.triage.policy import DEFAULT_POLICY_PATH, Policy, load_policy
from services.triage.service import facts_of
from shared.contracts.envelope import Record, to_record
from shared.contracts.events import IncidentReported, ReportSource
from shared.contracts.incident import IncidentReport
from shared.contracts.topics import Recipient
from shared.messaging.kafka_auth import operator_options
from shared.store.mongo import Document
from weerbaar import demo

# What "done" means per service for one case: (collection, document id, condition on the document).
Check = tuple[str, Callable[[str], str], Callable[[Document], bool]]
STAGES: dict[str, Check] = {
    "triage": ("triage_assessments", lambda case: case, lambda doc: True),
    "notify": (
        "notify_notifications",
        lambda case: notification_id(case, Recipient.BZK, 1),
        lambda doc: True,
    ),
    "reporting": ("reporting_facts", lambda case: case, lambda doc: "assessment_no" in doc),
    "intake (case view)": ("cases", lambda case: case, lambda doc: doc.get("status") == "notified"),
}
LOOKUPS_PER_POLL = 300
MISSES_PER_POLL = 3
"""A poll stops at this many cases not yet done: the cases go through each stage roughly in the order they were
sent, so what lies beyond is most likely not done either. The observer must not load the store it measures: looking
up the whole remainder every 0.2 s cost the store hundreds of commands a second beside the pipeline's own."""


def routine_records(count: int, prefix: str, *, seed: int = 7, below_high: bool = False) -> list[Record]:
    """Realistic reports from a bulk feed, one case each, none that intake would take as acute.

    Triage still rates about a third of them high or critical (threats, doxing) and sends those down the acute lane.
    ``below_high``: only reports the committed triage policy rates below high on their own, i.e. routine work all
    through the pipeline.
    """
    rng = random.Random(seed)
    now = datetime.now(UTC)
    records: list[Record] = []
    while len(records) < count:
        report = IncidentReport.model_validate(demo.incident(rng, now=now, acute=False))
        event = IncidentReported(case_id=f"{prefix}{len(records):07d}", source=ReportSource.BULK, report=report)
        if below_high and _rated_acute(event):
            continue
        records.append(to_record(event, source="/bench/feed"))
    return records


def _rated_acute(event: IncidentReported) -> bool:
    """Whether triage's committed policy rates the report high or critical (an office holder without history)."""
    incident = Incident(event, facts_of(event, pseudonym_key=b"bench-rating-only"))
    decision = CaseAssessment(event.case_id).take_reports([incident], Histories({}), _policy(), lane=Lane.MAIN)
    return decision is not None and decision.acute


@functools.cache
def _policy() -> Policy:
    return load_policy(DEFAULT_POLICY_PATH)


async def send_all(bootstrap: str, records: list[Record]) -> float:
    """Publish records as fast as the client allows; returns the seconds it took."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", linger_ms=5, **operator_options()
    )
    await producer.start()
    try:
        started = time.perf_counter()
        futures = [await producer.send(r.topic, r.value, key=r.key, headers=list(r.headers.items())) for r in records]
        await asyncio.gather(*futures)
        return time.perf_counter() - started
    finally:
        await producer.stop()


@dataclass
class PipelineResult:
    records: int
    inject_s: float
    done_s: dict[str, float] = field(default_factory=dict)
    partial: dict[str, tuple[int, float]] = field(default_factory=dict)

    def done(self, stage: str) -> int:
        """Cases through the stage within the run."""
        return self.records if stage in self.done_s else self.partial.get(stage, (0, 0.0))[0]

    def rate(self, stage: str) -> float:
        """Cases per second through the stage; from the cases done so far when it did not finish in time."""
        if stage in self.done_s:
            return self.records / self.done_s[stage]
        done, seconds = self.partial.get(stage, (0, 1.0))
        return done / seconds

    @property
    def end_to_end_rate(self) -> float:
        return self.records / max(self.done_s.values()) if len(self.done_s) == len(STAGES) else 0.0


async def run_pipeline(settings: BenchSettings, progress: Progress) -> PipelineResult:
    """Inject the reports, then follow each stage with ``_id`` look-ups (cheap on FerretDB, unlike counts), in the
    order the cases were sent, a few misses per poll at most."""
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    records = routine_records(settings.bench_records, prefix)
    case_ids = [r.key.decode() for r in records]
    client: AsyncMongoClient[Document] = AsyncMongoClient(settings.mongodb_uri)
    db = client[settings.mongodb_db]
    tasks = {stage: progress.add_task(f"weerbaar: {stage}", total=len(records)) for stage in STAGES}
    remaining = {stage: list(case_ids) for stage in STAGES}
    started = time.perf_counter()
    result = PipelineResult(records=len(records), inject_s=await send_all(settings.kafka_bootstrap, records))
    try:
        deadline = started + settings.bench_timeout_s
        while len(result.done_s) < len(STAGES) and time.perf_counter() < deadline:
            for stage, (collection, doc_id, done) in STAGES.items():
                if stage in result.done_s:
                    continue
                still = remaining[stage]
                missing: list[str] = []
                looked = 0
                for case in still[:LOOKUPS_PER_POLL]:
                    looked += 1
                    doc = await db[collection].find_one({"_id": doc_id(case)})
                    if doc is None or not done(doc):
                        missing.append(case)
                        if len(missing) >= MISSES_PER_POLL:
                            break
                remaining[stage] = missing + still[looked:]
                progress.update(tasks[stage], completed=len(records) - len(remaining[stage]))
                if not remaining[stage]:
                    result.done_s[stage] = time.perf_counter() - started
            await asyncio.sleep(0.2)
    finally:
        await client.close()
    elapsed = time.perf_counter() - started
    for stage in STAGES:
        if stage not in result.done_s:
            result.partial[stage] = (len(records) - len(remaining[stage]), elapsed)
    return result
