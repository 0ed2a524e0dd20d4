"""Every triaged case's fact in memory, so tabulating never reads the whole collection again.

Facts are written by reporting's consumers alone. While this is the only reporting process (the FerretDB
deployment runs one per service), what it read at start plus what it wrote since is the whole collection, so the
stats publisher and the summary API tabulate from here, and a case the book does not know has no document yet (its
first facts are one insert, no read). When the consumers lose partitions another process may write those cases
now: the book then reads the collection once more at its next use, and knows of no absence until then.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Protocol

from services.reporting.facts import Fact, FactSheet


class Sheets(Protocol):
    async def every_sheet(self) -> list[FactSheet]: ...


class FactBook:
    def __init__(self, store: Sheets) -> None:
        self._store = store
        self._facts: dict[str, Fact] = {}
        self._cases: set[str] = set()  # every case with a document, triaged or not
        self._stale = True
        self._loading = asyncio.Lock()
        self._written_while_loading: set[str] | None = None

    def absent(self, case_id: str) -> bool:
        """Whether the case has no document: known only while the book is current."""
        return not self._stale and self._written_while_loading is None and case_id not in self._cases

    def note(self, sheet: FactSheet) -> None:
        """A case's facts as this process just wrote (or read) them."""
        self._cases.add(sheet.case_id)
        fact = sheet.fact()
        if fact is not None:
            self._facts[sheet.case_id] = fact
        if self._written_while_loading is not None:
            self._written_while_loading.add(sheet.case_id)

    def forget(self) -> None:
        """Another process may write some cases now: read everything again at the next use."""
        self._stale = True

    async def load(self) -> None:
        """Read every case's facts unless the book is current (at start, and after partitions moved)."""
        async with self._loading:
            if not self._stale:
                return
            self._stale = False  # a forget() while reading makes the next use read again
            written: set[str] = set()
            self._written_while_loading = written
            try:
                sheets = await self._store.every_sheet()
            except BaseException:
                self._stale = True
                raise
            finally:
                self._written_while_loading = None
            for sheet in sheets:
                self._cases.add(sheet.case_id)
                fact = sheet.fact()
                if fact is not None and sheet.case_id not in written:  # what was written meanwhile is newer
                    self._facts[sheet.case_id] = fact

    async def facts_between(self, low: datetime | None, high: datetime | None) -> list[Fact]:
        """The facts of triaged cases whose incident lies in [low, high)."""
        await self.load()
        return [
            fact
            for fact in self._facts.values()
            if (low is None or fact.occurred_at >= low) and (high is None or fact.occurred_at < high)
        ]
