"""Reporting's collection: one document of facts per case, mapped to and from ``FactSheet`` only here."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from services.reporting.facts import NO_FOLLOWUP, Fact, FactSheet, TriagePart, furthest_stage, stage_of
from services.reporting.geography import UNKNOWN
from shared.contracts.events import FollowupKind
from shared.contracts.incident import DirectedAt
from shared.runtime.errors import TransientError
from shared.store.aggregates import AggregateStore
from shared.store.mongo import Document
from shared.store.serial import SerialCollection

COLLECTION = "reporting_facts"

_TRIAGE_FIELDS = tuple(TriagePart.__dataclass_fields__)


class FactSheetCodec:
    """A case's facts ↔ its document: flat, the triage part's fields only once it has been triaged."""

    def to_document(self, sheet: FactSheet) -> Document:
        document: Document = {}
        if sheet.triage is not None:
            document.update({name: getattr(sheet.triage, name) for name in _TRIAGE_FIELDS})
            document["types"] = list(sheet.triage.types)  # the store keeps lists
        if sheet.first_sent_at is not None:
            document["first_sent_at"] = sheet.first_sent_at
        if sheet.first_ack_at is not None:
            document["first_ack_at"] = sheet.first_ack_at
        if sheet.followup_stage != NO_FOLLOWUP:
            document["followup_stage"] = sheet.followup_stage
        if sheet.aangifte_filed:
            document["aangifte_filed"] = True
        if sheet.support:
            document["support"] = sorted(sheet.support)
        if sheet.erased:
            document["erased"] = True
        return document

    def from_document(self, document: Document) -> FactSheet:
        triage = None
        if "assessment_no" in document:
            triage = TriagePart(
                assessment_no=int(document["assessment_no"]),
                triaged_at=document["triaged_at"],
                office_holder_ref=str(document["office_holder_ref"]),
                role=str(document["role"]),
                gender=str(document["gender"]),
                types=tuple(document["types"]),
                channel=str(document["channel"]),
                level=str(document["level"]),
                body_kind=str(document["body_kind"]),
                province=str(document.get("province") or UNKNOWN),
                occurred_at=document["occurred_at"],
                reported_at=document["reported_at"],
                impact_on_functioning=bool(document["impact_on_functioning"]),
                wants_aangifte=bool(document["wants_aangifte"]),
                directed_at=str(document.get("directed_at") or DirectedAt.UNKNOWN.value),
                platform=document.get("platform"),
            )
        stage, filed = document.get("followup_stage", NO_FOLLOWUP), bool(document.get("aangifte_filed"))
        if "followups" in document:  # written before follow-ups were folded into their stage
            entries = list(document["followups"])
            stage = furthest_stage(stage_of(entry.get("kind", ""), entry.get("outcome") or "") for entry in entries)
            filed = any(entry.get("kind") == FollowupKind.AANGIFTE_REGISTERED.value for entry in entries)
        return FactSheet(
            case_id=str(document["_id"]),
            triage=triage,
            first_sent_at=document.get("first_sent_at"),
            first_ack_at=document.get("first_ack_at"),
            followup_stage=stage,
            aangifte_filed=filed,
            support=frozenset(document.get("support") or ()),
            erased=bool(document.get("erased")),
        )


class ReportingStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.facts = SerialCollection(db, COLLECTION)
        self._codec = FactSheetCodec()
        self.sheets: AggregateStore[FactSheet] = AggregateStore(self.facts, self._codec)

    async def ensure_indexes(self) -> None:
        try:
            await self.facts.create_index("occurred_at")
        except PyMongoError as exc:
            raise TransientError(f"store unavailable: {type(exc).__name__}") from exc

    @asynccontextmanager
    async def case(self, case_id: str) -> AsyncIterator[FactSheet]:
        """The case's facts, loaded once and saved with one write if they changed."""
        async with self.sheets.unit(case_id, new=lambda: FactSheet(case_id)) as sheet:
            yield sheet

    async def add(self, sheet: FactSheet) -> None:
        """A case with no document yet: one insert, no read (``StaleAggregate`` when it has one after all)."""
        await self.sheets.add(sheet.case_id, sheet)

    async def every_sheet(self) -> list[FactSheet]:
        """All cases' facts (one scan of the collection)."""
        return [self._codec.from_document(d) for d in await self._find({})]

    async def facts_between(self, low: datetime | None, high: datetime | None) -> list[Fact]:
        """The facts of triaged cases whose incident lies in [low, high)."""
        query: dict[str, Any] = {"assessment_no": {"$exists": True}}
        span: dict[str, datetime] = {}
        if low:
            span["$gte"] = low
        if high:
            span["$lt"] = high
        if span:
            query["occurred_at"] = span
        sheets = (self._codec.from_document(d) for d in await self._find(query))
        return [f for f in (s.fact() for s in sheets) if f is not None]

    async def insert(self, sheets: Iterable[FactSheet]) -> None:
        """New documents in bulk (``weerbaar replay``'s fresh database)."""
        documents = [{**self._codec.to_document(s), "_id": s.case_id, "version": 1} for s in sheets]
        if documents:  # the store adapter keeps each command under FerretDB's statement limit
            await self.facts.insert_many(documents, ordered=False)

    async def _find(self, query: Document) -> list[Document]:
        try:
            return await self.facts.find(query).to_list(None)
        except PyMongoError as exc:
            raise TransientError(f"store unavailable: {type(exc).__name__}") from exc
