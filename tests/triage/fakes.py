"""In-memory stand-ins for triage's store and publisher: the use cases run as in the service, without a stack."""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from services.triage.assessment import CaseAssessment
from services.triage.domain import HistoryEntry
from services.triage.store import AssessmentCodec
from shared.contracts.envelope import Record
from shared.contracts.events import CaseTriaged, IncidentReported
from shared.runtime.errors import Unavailable
from shared.store.aggregates import StaleAggregate
from shared.store.mongo import Document

Journal = list[str]
"""What the fakes did, in order, shared by them: e.g. that the history is written after publishing."""


@dataclass
class FakeAssessments:
    """Documents by case id, written through the real codec; counts loads and saves per case."""

    journal: Journal = field(default_factory=list)
    documents: dict[str, Document] = field(default_factory=dict)
    loads: Counter[str] = field(default_factory=Counter)
    saves: Counter[str] = field(default_factory=Counter)
    codec: AssessmentCodec = field(default_factory=AssessmentCodec)

    @asynccontextmanager
    async def unit(self, aggregate_id: str, new: Callable[[], CaseAssessment]) -> AsyncIterator[CaseAssessment]:
        self.loads[aggregate_id] += 1
        self.journal.append("assessment read")
        stored = self.documents.get(aggregate_id)
        aggregate = new() if stored is None else self.codec.from_document(copy.deepcopy(stored))
        yield aggregate  # an exception here saves nothing, as in AggregateStore
        document = {**self.codec.to_document(aggregate), "_id": aggregate_id}
        if document != stored:
            self.documents[aggregate_id] = document
            self.saves[aggregate_id] += 1
            self.journal.append("assessment saved")

    async def add(self, aggregate_id: str, aggregate: CaseAssessment) -> None:
        if aggregate_id in self.documents:
            raise StaleAggregate(f"{aggregate_id} exists (fake)")
        self.documents[aggregate_id] = {**self.codec.to_document(aggregate), "_id": aggregate_id}
        self.saves[aggregate_id] += 1
        self.journal.append("assessment inserted")

    async def peek(self, aggregate_id: str) -> CaseAssessment | None:
        stored = self.documents.get(aggregate_id)
        return None if stored is None else self.codec.from_document(copy.deepcopy(stored))

    def stored(self, case_id: str) -> CaseAssessment:
        return self.codec.from_document(copy.deepcopy(self.documents[case_id]))


@dataclass
class FakeHistoryStore:
    """Entries by office holder; ``failures`` writes to come raise as an unreachable store would."""

    journal: Journal = field(default_factory=list)
    entries_by_holder: dict[str, dict[str, HistoryEntry]] = field(default_factory=dict)
    reads: int = 0
    writes: int = 0
    failures: int = 0

    async def entries(self, office_holder_ref: str) -> dict[str, HistoryEntry]:
        self.reads += 1
        self.journal.append("history read")
        return dict(self.entries_by_holder.get(office_holder_ref, {}))

    async def add(self, office_holder_ref: str, entries: Sequence[HistoryEntry]) -> None:
        if self.failures:
            self.failures -= 1
            raise Unavailable("store unreachable (fake)")
        self.writes += 1
        self.journal.append("history written")
        self.entries_by_holder.setdefault(office_holder_ref, {}).update({e.event_id: e for e in entries})

    async def remove_case(self, office_holder_ref: str, case_id: str) -> None:
        kept = {k: e for k, e in self.entries_by_holder.get(office_holder_ref, {}).items() if e.case_id != case_id}
        if kept:
            self.entries_by_holder[office_holder_ref] = kept
        else:
            self.entries_by_holder.pop(office_holder_ref, None)


@dataclass
class RecordingPublisher:
    """Keeps what was sent, in order; ``failures`` calls to come raise as an unreachable broker would."""

    journal: Journal = field(default_factory=list)
    sent: list[Record] = field(default_factory=list)
    failures: int = 0

    async def send_many(self, records: Sequence[Record]) -> None:
        if self.failures:
            self.failures -= 1
            raise Unavailable("broker unreachable (fake)")
        self.sent.extend(records)
        self.journal.append("published")

    def on(self, topic: str) -> list[Record]:
        return [r for r in self.sent if r.topic == topic]

    def decisions(self, topic: str) -> list[CaseTriaged]:
        return [CaseTriaged.model_validate_json(r.value) for r in self.on(topic)]

    def reports(self, topic: str) -> list[IncidentReported]:
        return [IncidentReported.model_validate_json(r.value) for r in self.on(topic)]
