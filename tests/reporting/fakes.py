"""In-memory stand-ins for reporting's store and publisher: the projection and the stats run without a stack."""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from services.reporting.facts import FactSheet
from services.reporting.store import FactSheetCodec
from shared.contracts.events import Envelope
from shared.store.aggregates import StaleAggregate
from shared.store.mongo import Document


@dataclass
class FakeCases:
    """Fact documents by case id, written through the real codec; counts loads, saves and full reads."""

    documents: dict[str, Document] = field(default_factory=dict)
    loads: Counter[str] = field(default_factory=Counter)
    saves: Counter[str] = field(default_factory=Counter)
    scans: int = 0
    codec: FactSheetCodec = field(default_factory=FactSheetCodec)

    @asynccontextmanager
    async def case(self, case_id: str) -> AsyncIterator[FactSheet]:
        self.loads[case_id] += 1
        stored = self.documents.get(case_id)
        sheet = FactSheet(case_id) if stored is None else self.codec.from_document(copy.deepcopy(stored))
        yield sheet
        document = {**self.codec.to_document(sheet), "_id": case_id}
        if document != stored:
            self.documents[case_id] = document
            self.saves[case_id] += 1

    async def add(self, sheet: FactSheet) -> None:
        if sheet.case_id in self.documents:
            raise StaleAggregate(f"{sheet.case_id} exists (fake)")
        self.documents[sheet.case_id] = {**self.codec.to_document(sheet), "_id": sheet.case_id}
        self.saves[sheet.case_id] += 1

    async def every_sheet(self) -> list[FactSheet]:
        self.scans += 1
        return [self.codec.from_document(copy.deepcopy(d)) for d in self.documents.values()]


@dataclass
class RecordingPublisher:
    published: list[tuple[str | None, Envelope]] = field(default_factory=list)

    async def publish(self, event: Envelope, *, topic: str | None = None, key: str | None = None) -> None:
        self.published.append((key, event))


class NothingKnown:
    """A projection without a book: every case is loaded before it is saved."""

    def absent(self, case_id: str) -> bool:
        return False

    def note(self, sheet: FactSheet) -> None:
        return None
