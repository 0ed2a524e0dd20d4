"""Folds one consumed event into the projection: the single path for live consumption and for replay."""

from __future__ import annotations

from pydantic import BaseModel

from services.reporting import facts
from services.reporting.store import ReportingStore
from shared.contracts.events import CaseFollowup, CaseTriaged, NotificationStatus
from shared.contracts.topics import CASE_FOLLOWUP, CASE_TRIAGED, NOTIFICATION_STATUS

SOURCES: dict[str, type[BaseModel]] = {
    CASE_TRIAGED: CaseTriaged,
    NOTIFICATION_STATUS: NotificationStatus,
    CASE_FOLLOWUP: CaseFollowup,
}


class Projection:
    def __init__(self, store: ReportingStore) -> None:
        self._store = store

    async def apply(self, event: BaseModel) -> bool:
        """Fold ``event`` in; True when the figures may have changed."""
        if isinstance(event, CaseTriaged):
            return await self._store.apply_triage(event.case_id, facts.triage_fields(event))
        if isinstance(event, NotificationStatus):
            first = facts.notification_time(event)
            return first is not None and await self._store.apply_first_time(event.case_id, *first)
        if isinstance(event, CaseFollowup):
            return await self._store.apply_followup(event.case_id, facts.followup_entry(event))
        return False
