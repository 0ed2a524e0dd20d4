"""Publishing what a case's outbox holds: at once after an HTTP write, again by the relay when that failed.

Only writes without an input record keep an outbox (a report over HTTP, an erasure). Once the broker has
acknowledged an event, the case drops it at its next save (the triage decision for a new report comes within
seconds and saves the case anyway), so no write is spent on removing it; a case that is not saved within
``confirm_after_s`` is saved for that alone. After a crash the outboxes still hold what was published but not yet
dropped: the relay publishes it once more at start (consumers dedupe by event id).
"""

from __future__ import annotations

import asyncio

import structlog

from services.intake.domain import Case
from services.intake.store import CaseRepository
from shared.messaging.kafka import EventPublisher
from shared.messaging.lanes import taking_turns
from shared.runtime import metrics
from shared.runtime.errors import TransientError

log = structlog.get_logger("weerbaar.intake.deliveries")


class Deliveries:
    def __init__(
        self,
        publisher: EventPublisher,
        store: CaseRepository,
        *,
        service: str,
        inline_timeout_s: float,
        confirm_after_s: float,
    ) -> None:
        self._publisher = publisher
        self._store = store
        self._service = service
        self._inline_timeout_s = inline_timeout_s
        self._confirm_after_s = confirm_after_s
        self._unsent: set[str] = set()
        self._look_in_store = True  # at start: what a crash left behind

    async def publish(self, case: Case) -> bool:
        """Publish the case's outgoing events not known to be published; False (left to the relay) if that failed."""
        known = self._store.published.of(case.case_id)
        pending = [out for out in case.outbox if out.event_id not in known]
        if not pending:
            return True
        try:
            await asyncio.wait_for(self._publisher.send_many([out.record for out in pending]), self._inline_timeout_s)
        except (TransientError, TimeoutError) as exc:
            self._unsent.add(case.case_id)
            log.warning("outbox_deferred", case_id=case.case_id, error=str(exc) or type(exc).__name__)
            return False
        for out in pending:
            metrics.PUBLISHED.labels(self._service, out.record.topic).inc()
        self._store.published.add(case.case_id, {out.event_id for out in pending})
        self._unsent.discard(case.case_id)
        return True

    async def relay_once(self) -> None:
        """Publish what failed before (and, at start, what a crash left); save cases that kept published events."""
        if self._look_in_store:
            found = await self._store.with_outbox()
            self._unsent.update(found)
            self._look_in_store = len(found) >= 500  # more than one look's worth: look again next round
        async for case_id in taking_turns(sorted(self._unsent)):
            case = await self._store.get(case_id)
            if case is None or not case.outbox:
                self._unsent.discard(case_id)
            elif not await self.publish(case):
                break  # the broker is still away: try again next round
        for case_id in self._store.published.waiting_longer_than(self._confirm_after_s):
            async with self._store.case(case_id, shed_published=True):
                pass
        metrics.OUTBOX_PENDING.labels(self._service).set(len(self._unsent) + len(self._store.published))
        metrics.OUTBOX_UNSENT.labels(self._service).set(len(self._unsent))
