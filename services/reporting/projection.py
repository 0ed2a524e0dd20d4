"""The live projection: a case's events of one batch folded into its facts with one load and one save."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from pydantic import BaseModel

from services.reporting.facts import FactSheet
from shared.contracts.events import CaseErased, CaseFollowup, CaseTriaged, NotificationStatus
from shared.contracts.topics import CASE_ERASED, CASE_FOLLOWUP, CASE_TRIAGED, NOTIFICATION_STATUS
from shared.store.aggregates import StaleAggregate

SOURCES: dict[str, type[BaseModel]] = {
    CASE_TRIAGED: CaseTriaged,
    NOTIFICATION_STATUS: NotificationStatus,
    CASE_FOLLOWUP: CaseFollowup,
    CASE_ERASED: CaseErased,  # an erased case keeps its figures, not its office holder's pseudonym (replay too)
}


class Cases(Protocol):
    """Where facts are kept: ``ReportingStore`` in the service, a fake in unit tests."""

    def case(self, case_id: str) -> AbstractAsyncContextManager[FactSheet]: ...

    async def add(self, sheet: FactSheet) -> None: ...


class Known(Protocol):
    """What this process knows of every case's facts: the service's ``FactBook``."""

    def absent(self, case_id: str) -> bool: ...

    def note(self, sheet: FactSheet) -> None: ...


class Projection:
    def __init__(self, cases: Cases, known: Known) -> None:
        self._cases = cases
        self._known = known

    async def apply(self, case_id: str, events: Sequence[BaseModel]) -> bool:
        """Fold the case's events in; True when its facts changed (and were saved).

        A case the book knows to have no facts yet is added with one insert and no read; otherwise (or when it
        exists after all) it is loaded once and saved once.
        """
        relevant = [event for event in events if FactSheet.concerns(event)]
        if not relevant:
            return False  # e.g. notification states the figures do not use: not even a read
        if self._known.absent(case_id):
            sheet = FactSheet(case_id)
            if not sheet.take_all(relevant):
                return False
            try:
                await self._cases.add(sheet)
            except StaleAggregate:
                pass  # written by another process, or before the book had read it: fold into what is stored
            else:
                self._known.note(sheet)
                return True
        async with self._cases.case(case_id) as sheet:
            changed = sheet.take_all(relevant)
        self._known.note(sheet)
        return changed
