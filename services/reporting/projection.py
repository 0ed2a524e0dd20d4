"""The live projection: a case's events of one batch folded into its facts with one load and one save."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from pydantic import BaseModel

from services.reporting.facts import FactSheet
from shared.contracts.events import CaseFollowup, CaseTriaged, NotificationStatus
from shared.contracts.topics import CASE_FOLLOWUP, CASE_TRIAGED, NOTIFICATION_STATUS

SOURCES: dict[str, type[BaseModel]] = {
    CASE_TRIAGED: CaseTriaged,
    NOTIFICATION_STATUS: NotificationStatus,
    CASE_FOLLOWUP: CaseFollowup,
}


class Cases(Protocol):
    """Where facts are kept: ``ReportingStore`` in the service, a fake in unit tests."""

    def case(self, case_id: str) -> AbstractAsyncContextManager[FactSheet]: ...


class Projection:
    def __init__(self, cases: Cases, *, written: Callable[[FactSheet], None]) -> None:
        self._cases = cases
        self._written = written

    async def apply(self, case_id: str, events: Sequence[BaseModel]) -> bool:
        """Fold the case's events in; True when its facts changed (and were saved)."""
        relevant = [event for event in events if FactSheet.concerns(event)]
        if not relevant:
            return False  # e.g. notification states the figures do not use: not even a read
        async with self._cases.case(case_id) as sheet:
            changed = [sheet.take(event) for event in relevant]
        if any(changed):
            self._written(sheet)
        return any(changed)
