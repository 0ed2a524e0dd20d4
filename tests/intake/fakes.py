"""In-memory stand-ins for intake's store and publisher: the use cases run without a stack, and every load, save
and publish is counted."""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime

from services.intake.codec import CaseCodec, chunk_id, timeline_entry_of
from services.intake.deliveries import Deliveries
from services.intake.domain import Case
from services.intake.service import IntakeService
from services.intake.store import CaseRepository, Published
from services.intake.values import TimelineEntry
from shared.contracts.envelope import Record, to_record
from shared.contracts.events import Envelope, IncidentReported
from shared.messaging.lanes import AcuteGate
from shared.runtime.errors import Unavailable
from shared.security.case_keys import open_report
from shared.security.crypto import DataCipher, new_case_key
from shared.store.mongo import Document

CIPHER = DataCipher({"k1": bytes(range(32))}, "k1")


class MemoryCaseKeys:
    """The key directory in memory: a case's key, or None once destroyed."""

    def __init__(self) -> None:
        self.keys: dict[str, bytes | None] = {}

    async def create(self, case_id: str, key: bytes | None = None) -> bytes:
        found = self.keys.get(case_id)
        if found is None:
            found = self.keys[case_id] = key or new_case_key()
        return found

    async def for_case(self, case_id: str) -> bytes:
        return await self.create(case_id)

    async def destroy(self, case_id: str, *, reason: str) -> None:
        self.keys[case_id] = None

    async def opened(self, events: Sequence[IncidentReported]) -> list[IncidentReported]:
        out = []
        for event in events:
            key = self.keys.get(event.case_id)
            if event.sealed_report is None:
                out.append(event)
            elif key is not None:
                out.append(open_report(event, key))
        return out


class MemoryCaseStore(CaseRepository):
    """Cases as documents in a dict, through the real codec (what would be stored is what is kept)."""

    def __init__(self) -> None:
        self.codec = CaseCodec(CIPHER)
        self.published = Published()
        self.watchers = []
        self.documents: dict[str, Document] = {}
        self.chunks: dict[str, Document] = {}
        self.claims: dict[str, Document] = {}
        self.incidents: dict[str, str] = {}
        self.linked: dict[str, list[str]] = {}
        self.parked: dict[str, list[tuple[str, str]]] = {}
        self.commands: Counter[str] = Counter()
        """Store commands as the real store would send them: ``find``, ``insert``, ``replace``, ``claim``, ``link``."""

    def _unit(self, case_id: str, *, presume_new: bool = False) -> AbstractAsyncContextManager[Case]:
        return self._case_unit(case_id)

    @asynccontextmanager
    async def _case_unit(self, case_id: str) -> AsyncIterator[Case]:
        self.commands["find"] += 1
        stored = self.documents.get(case_id)
        case = self.codec.from_document(copy.deepcopy(stored)) if stored is not None else Case(case_id)
        yield case
        document = self.codec.to_document(case)
        if stored is not None and all(stored.get(k) == v for k, v in document.items()):
            return
        self.commands["insert" if stored is None else "replace"] += 1
        version = 1 if stored is None else int(stored["version"]) + 1
        self.documents[case_id] = {**document, "_id": case_id, "version": version}

    async def _insert(self, case: Case) -> None:
        assert case.case_id not in self.documents, "a new case was stored twice"
        self.commands["insert"] += 1
        self.documents[case.case_id] = {**self.codec.to_document(case), "_id": case.case_id, "version": 1}

    async def _insert_chunks(self, documents: list[Document]) -> None:
        self.commands["insert"] += 1
        for document in documents:
            self.chunks[document["_id"]] = document

    async def _chunk(self, case_id: str, number: int) -> list[TimelineEntry]:
        self.commands["find"] += 1
        return [timeline_entry_of(e) for e in self.chunks[chunk_id(case_id, number)]["entries"]]

    async def get(self, case_id: str) -> Case | None:
        stored = self.documents.get(case_id)
        return None if stored is None else self.codec.from_document(copy.deepcopy(stored))

    async def with_outbox(self, limit: int = 500) -> list[str]:
        return [case_id for case_id, doc in self.documents.items() if doc["outbox"]][:limit]

    async def closed_before(self, cutoff: datetime, *, limit: int) -> list[str]:
        return [
            case_id
            for case_id, doc in self.documents.items()
            if doc["status"] == "closed" and doc["closed_at"] < cutoff and "erased" not in doc
        ][:limit]

    async def every_case(self) -> AsyncIterator[Case]:
        for document in list(self.documents.values()):
            case = self.codec.from_document(copy.deepcopy(document))
            if case.opened:
                yield case

    async def claim_key(self, key_id: str, claim: Document) -> Document:
        self.commands["claim"] += 1
        return self.claims.setdefault(key_id, claim)

    async def claim_incident(self, dedup_key: str, case_id: str) -> str:
        self.commands["claim"] += 1
        return self.incidents.setdefault(dedup_key, case_id)

    async def link(self, keys: list[str], case_id: str) -> dict[str, list[str]]:
        others = {}
        for key in keys:
            self.commands["link"] += 1
            cases = self.linked.setdefault(key, [])
            if case_id not in cases:
                cases.append(case_id)
            others[key] = [c for c in cases if c != case_id]
        return others

    async def forget(self, case_id: str) -> None:
        for cases in self.linked.values():
            if case_id in cases:
                cases.remove(case_id)
        self.linked = {key: cases for key, cases in self.linked.items() if cases}
        self.incidents = {k: c for k, c in self.incidents.items() if c != case_id}
        self.claims = {k: c for k, c in self.claims.items() if c["case_id"] != case_id}

    async def parked_earlier(self) -> dict[str, list[tuple[str, str]]]:
        return dict(self.parked)

    async def drop_parked(self, case_id: str) -> None:
        del self.parked[case_id]

    def stored(self, case_id: str) -> Case:
        return self.codec.from_document(copy.deepcopy(self.documents[case_id]))


class RecordingPublisher:
    """Keeps what was sent; ``down`` makes every send fail as a broker outage would."""

    def __init__(self) -> None:
        self.records: list[Record] = []
        self.down = False

    async def send_many(self, records: Sequence[Record]) -> None:
        if self.down:
            raise Unavailable("broker down")
        self.records.extend(records)

    async def publish(self, event: Envelope, *, topic: str | None = None, key: str | None = None) -> None:
        await self.send_many([to_record(event, source="/weerbaar/intake", topic=topic, key=key)])

    def topics(self) -> list[str]:
        return [record.topic for record in self.records]


class Intake:
    """The use cases wired to the fakes, as ``services/intake/app.py`` wires them to the real edges."""

    def __init__(self, *, confirm_after_s: float = 10.0) -> None:
        self.store = MemoryCaseStore()
        self.keys = MemoryCaseKeys()
        self.publisher = RecordingPublisher()
        self.deliveries = Deliveries(
            self.publisher,  # type: ignore[arg-type] # the fake has the two methods intake uses
            self.store,
            service="intake-test",
            inline_timeout_s=1.0,
            confirm_after_s=confirm_after_s,
        )
        self.service = IntakeService(
            self.store,
            self.deliveries,
            publisher=self.publisher,  # type: ignore[arg-type] # as above
            gate=AcuteGate(0.0),
            pseudonym_key=b"test-pseudonym-key",
            keys=self.keys,
        )
