"""Triage's collections: one assessment document per case, and the incident history per office holder.

Only non-personal data is stored: pseudonyms, codes, levels and factor explanations from the policy — never names,
contact details or the free text of a report.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Protocol

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from services.triage.assessment import CaseAssessment, Decision, Lane
from services.triage.domain import Histories, HistoryEntry
from shared.contracts.events import CaseFacts, CaseTriaged, Factor, RiskLevel
from shared.contracts.incident import Channel, IncidentType
from shared.runtime.errors import TransientError
from shared.store.aggregates import AggregateStore
from shared.store.group import GroupWrites
from shared.store.keyed import KeyedLocks
from shared.store.mongo import Document
from shared.store.serial import SerialCollection, writing

ASSESSMENTS = "triage_assessments"
HISTORY = "triage_history"


class AssessmentCodec:
    """A case's assessment ↔ its document (the only place that knows the document's shape)."""

    def to_document(self, aggregate: CaseAssessment) -> Document:
        current = aggregate.current
        return {
            # Summary for whoever reads the store; the aggregate is rebuilt from the decisions.
            "assessment_no": current.assessment_no if current else 0,
            "level": current.level.value if current else None,
            "decisions": [
                {"lane": d.lane.value, "copies": list(d.copies), "triaged": d.triaged.model_dump(mode="json")}
                for d in aggregate.decisions
            ],
            # grouped by assessment: FerretDB 1.x stores no arrays in arrays
            "applied": [{"assessment_no": n, "event_ids": ids} for n, ids in _by_assessment(aggregate.applied).items()],
        }

    def from_document(self, document: Document) -> CaseAssessment:
        case_id = str(document["_id"])
        if "decisions" not in document:
            return _written_before_decisions(case_id, document)
        return CaseAssessment(
            case_id=case_id,
            decisions=[
                Decision(
                    triaged=CaseTriaged.model_validate(d["triaged"]),
                    lane=Lane(d["lane"]),
                    copies=tuple(d.get("copies") or ()),
                )
                for d in document["decisions"]
            ],
            applied={
                str(event_id): int(group["assessment_no"])
                for group in document.get("applied") or ()
                for event_id in group["event_ids"]
            },
        )


def _by_assessment(applied: dict[str, int]) -> dict[int, list[str]]:
    grouped: dict[int, list[str]] = {}
    for event_id, number in applied.items():
        grouped.setdefault(number, []).append(event_id)
    return grouped


def _written_before_decisions(case_id: str, document: Document) -> CaseAssessment:
    """A document of the earlier shape (state fields, ``processed`` ids): its state as a decision never re-published.

    The decision it made was published (or relayed from its outbox) back then; its records map to number 0.
    """
    current = CaseTriaged(
        case_id=case_id,
        assessment_no=int(document["assessment_no"]),
        policy_version=str(document["policy_version"]),
        level=RiskLevel(document["level"]),
        score=float(document["score"]),
        factors=tuple(Factor.model_validate(f) for f in document["factors"]),
        routes=(),
        facts=CaseFacts.model_validate(document["facts"]),
    )
    processed = [str(event_id) for event_id in document.get("processed") or ()]
    return CaseAssessment(case_id, [Decision(current, Lane.MAIN)], dict.fromkeys(processed, 0))


def assessment_store(db: AsyncDatabase[Document]) -> AggregateStore[CaseAssessment]:
    return AggregateStore(SerialCollection(db, ASSESSMENTS), AssessmentCodec())


def _entry_document(entry: HistoryEntry) -> Document:
    return {
        "case_id": entry.case_id,
        "occurred_at": entry.occurred_at,
        "channel": entry.channel.value,
        "level": entry.level.value,
        "types": [t.value for t in entry.types],
        "perpetrator_repeat": entry.perpetrator_repeat,
    }


def _entry(event_id: str, doc: Document) -> HistoryEntry:
    return HistoryEntry(
        case_id=doc["case_id"],
        event_id=event_id,
        occurred_at=doc["occurred_at"],
        channel=Channel(doc["channel"]),
        level=RiskLevel(doc["level"]),
        types=tuple(IncidentType(t) for t in doc["types"]),
        perpetrator_repeat=bool(doc.get("perpetrator_repeat", False)),
    )


class HistoryStore:
    """Earlier incidents per office holder: one document per keyed pseudonym, entries keyed by event id.

    One document per person keeps every read an ``_id`` look-up (FerretDB scans the whole collection for any other
    query) and makes recording idempotent: a redelivered event overwrites its own entry.
    """

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection: AsyncCollection[Document] = db.get_collection(HISTORY)
        self._writes = GroupWrites(self.collection)  # the histories a routine batch adds: one bulk command

    async def ensure_reachable(self) -> None:
        try:
            await self.collection.find_one({"_id": "-"})
        except PyMongoError as exc:
            raise TransientError(f"store unavailable: {type(exc).__name__}") from exc

    async def entries(self, office_holder_ref: str) -> dict[str, HistoryEntry]:
        doc = await self.collection.find_one({"_id": office_holder_ref})
        return {event_id: _entry(event_id, entry) for event_id, entry in ((doc or {}).get("entries") or {}).items()}

    async def add(self, office_holder_ref: str, entries: Sequence[HistoryEntry]) -> None:
        """One write for all of them; idempotent by event id (an entry written again overwrites itself)."""
        if not entries:
            return
        fields = {f"entries.{entry.event_id}": _entry_document(entry) for entry in entries}
        # One writer per document at a time: FerretDB applies an update as read, then replace.
        async with writing(self.collection, {"_id": office_holder_ref}):
            await self._writes.upsert({"_id": office_holder_ref}, {"$set": fields})

    async def record(self, entry: HistoryEntry, *, office_holder_ref: str) -> None:
        await self.add(office_holder_ref, [entry])

    async def remove_case(self, office_holder_ref: str, case_id: str) -> None:
        """Drop a case's entries from a person's history (the case was erased); the document goes when empty."""
        async with writing(self.collection, {"_id": office_holder_ref}):
            doc = await self.collection.find_one({"_id": office_holder_ref})
            entries: dict[str, Document] = (doc or {}).get("entries") or {}
            gone = [event_id for event_id, entry in entries.items() if entry.get("case_id") == case_id]
            if not gone:
                return
            if len(gone) == len(entries):
                await self.collection.delete_one({"_id": office_holder_ref})
            else:
                unset = {f"entries.{event_id}": "" for event_id in gone}
                await self.collection.update_one({"_id": office_holder_ref}, {"$unset": unset})


class HistoryEntries(Protocol):
    """What ``History`` needs of a store: ``HistoryStore``, or a fake in unit tests."""

    async def entries(self, office_holder_ref: str) -> dict[str, HistoryEntry]: ...

    async def add(self, office_holder_ref: str, entries: Sequence[HistoryEntry]) -> None: ...

    async def remove_case(self, office_holder_ref: str, case_id: str) -> None: ...


class History:
    """The history store, with what it read and wrote kept per office holder (``holders``: how many; 0 keeps none).

    A person's history spans many cases, so it is not owned by the partitions of this consumer as an assessment
    is: the copy kept here is complete only while this is the only triage process writing the history (the
    FerretDB deployment runs one per service). With several triage processes on one store, set
    ``WEERBAAR_TRIAGE_HISTORY_CACHE=0`` or each would miss what the others add. The runtime also drops it whenever
    partitions move.

    Reports of one person are assessed one unit at a time in this process (a lock per person), so each sees the
    ones before it, whether they came in the same batch or in cases handled side by side. What a unit adds is
    kept here at once (the next unit counts it) and written by the unit after its decision is published; an entry
    whose write a stop cut off comes back with its redelivered record (``CaseAssessment.recall``).
    """

    def __init__(self, store: HistoryEntries, *, holders: int = 20_000) -> None:
        self._store = store
        self._holders = holders
        self._kept: OrderedDict[str, dict[str, HistoryEntry]] = OrderedDict()
        self._turns = KeyedLocks()

    def forget(self) -> None:
        self._kept.clear()

    @asynccontextmanager
    async def holding(self, office_holder_refs: Iterable[str]) -> AsyncIterator[Histories]:
        """The histories of these people, theirs alone until the block ends; what it adds is then kept here.

        Nothing is kept when the block raises. Writing what was added is the caller's (``write``), once the
        decision it led to is saved and published: the decision first on the acute lane.
        """
        refs = sorted(set(office_holder_refs))  # one order everywhere: two units never wait for each other
        async with AsyncExitStack() as stack:
            for ref in refs:
                await stack.enter_async_context(self._turns.holding(ref))
            histories = Histories({ref: dict(await self._entries(ref)) for ref in refs})
            yield histories
            for ref in histories.added:
                self._keep(ref, histories.known[ref])

    async def forget_case(self, office_holder_refs: Iterable[str], case_id: str) -> None:
        """An erased case leaves these people's histories, here and in the store (each person's turn taken)."""
        for ref in sorted(set(office_holder_refs)):
            async with self._turns.holding(ref):
                kept = self._kept.get(ref)
                if kept is not None:
                    self._kept[ref] = {k: e for k, e in kept.items() if e.case_id != case_id}
                await self._store.remove_case(ref, case_id)

    async def write(self, added: dict[str, list[HistoryEntry]]) -> None:
        """Store what a unit added: one write per person (an entry written again overwrites itself)."""
        for ref, entries in added.items():
            await self._store.add(ref, entries)

    async def _entries(self, ref: str) -> dict[str, HistoryEntry]:
        kept = self._kept.get(ref)
        if kept is not None:
            self._kept.move_to_end(ref)
            return kept
        entries = await self._store.entries(ref)
        self._keep(ref, entries)
        return entries

    def _keep(self, ref: str, entries: dict[str, HistoryEntry]) -> None:
        if not self._holders:
            return
        self._kept[ref] = entries
        self._kept.move_to_end(ref)
        while len(self._kept) > self._holders:
            self._kept.popitem(last=False)
