"""Reporting's projection: one fact per case, aggregated on demand with $group."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from services.reporting.domain import DIMENSIONS, RawCell
from shared.errors import TransientError
from shared.mongo import Document


class ReportingStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.facts: AsyncCollection[Document] = db["reporting_facts"]

    async def ensure_indexes(self) -> None:
        try:
            await self.facts.create_index("occurred_at")
        except PyMongoError as exc:
            raise TransientError(f"store unavailable: {type(exc).__name__}") from exc

    async def upsert_fact(self, case_id: str, fact: dict[str, Any]) -> bool:
        """Keep the newest assessment's fact per case; replays and duplicates change nothing."""
        current = await self.facts.find_one({"_id": case_id}, {"assessment_no": 1})
        if current and int(current["assessment_no"]) >= int(fact["assessment_no"]):
            return False
        await self.facts.replace_one({"_id": case_id}, {"_id": case_id, **fact}, upsert=True)
        return True

    async def cells(self, group_by: tuple[str, ...], start: date | None, end: date | None) -> list[RawCell]:
        match: dict[str, Any] = {}
        if start or end:
            window: dict[str, datetime] = {}
            if start:
                window["$gte"] = datetime.combine(start, time.min)
            if end:
                window["$lt"] = datetime.combine(end + timedelta(days=1), time.min)
            match["occurred_at"] = window
        pipeline: list[dict[str, Any]] = [{"$match": match}]
        if "type" in group_by:
            pipeline.append({"$unwind": "$types"})
        key = {name: f"${DIMENSIONS[name]}" for name in group_by}
        pipeline.append({"$group": {"_id": {**key, "ref": "$office_holder_ref"}, "incidents": {"$sum": 1}}})
        # The second level is summed here: FerretDB 1.24 computes only the first accumulator of a $group with two
        # ($sum of a field and $sum: 1 gave affected = 0, so every cell was suppressed). Found by tests/chaos.
        cells: dict[tuple[tuple[str, str], ...], list[int]] = {}
        for row in await (await self.facts.aggregate(pipeline)).to_list(None):
            dims = tuple(sorted((k, str(v)) for k, v in (row["_id"] or {}).items() if k != "ref"))
            counts = cells.setdefault(dims, [0, 0])
            counts[0] += int(row["incidents"])
            counts[1] += 1
        return [RawCell(dims=dict(dims), incidents=n, affected=affected) for dims, (n, affected) in cells.items()]
