"""The workflow's use cases: one unit of work per request (load once, authorise, change, save once, publish).

The caller is authorised inside the unit, on the case as loaded, so the decision and the change see the same case.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import structlog

from services.intake.access import case_access, may
from services.intake.deliveries import Deliveries
from services.intake.domain import Case
from services.intake.errors import CaseNotFound, NotAllowed
from services.intake.guidance import tell_reporters
from services.intake.queue import CaseQueue, Filters, Page
from services.intake.store import CaseRepository
from services.intake.values import Actor
from shared.contracts.events import FollowupKind, RiskLevel
from shared.contracts.topics import Recipient
from shared.web.auth import Principal
from shared.web.policy import Action

log = structlog.get_logger("weerbaar.intake.workflow")

T = TypeVar("T")


def actor_of(principal: Principal) -> Actor:
    return Actor(sub=principal.sub, role=principal.role.value, org=principal.org)


@dataclass(frozen=True, slots=True)
class Done:
    """What a workflow request did: the case as saved and what the change returned."""

    case: Case
    changed: bool


class Workflow:
    def __init__(
        self, store: CaseRepository, deliveries: Deliveries, queue: CaseQueue, *, ack_levels: Collection[RiskLevel]
    ) -> None:
        self._store = store
        self._deliveries = deliveries
        self._queue = queue
        self._ack_levels = frozenset(ack_levels)

    def queue(self, principal: Principal, filters: Filters, *, page: int, per_page: int) -> Page:
        return self._queue.page(principal, filters, page=page, per_page=per_page)

    async def load_queue(self) -> None:
        """Read every case once (at start); afterwards the queue follows what this process saves."""
        self._queue.load([case async for case in self._store.every_case()])
        log.info("queue_loaded", cases=len(self._queue))

    async def assign(self, case_id: str, principal: Principal, *, part: Recipient, to: str) -> Done:
        return await self._act(
            case_id, principal, Action.ASSIGN_CASE, lambda c, now: c.assign(part, to, by=actor_of(principal), now=now)
        )

    async def add_note(self, case_id: str, principal: Principal, *, text: str) -> tuple[Done, str]:
        note_ids: list[str] = []

        def note(case: Case, now: datetime) -> None:
            note_ids.append(case.add_note(text, by=actor_of(principal), now=now).note_id)

        done = await self._act(case_id, principal, Action.ADD_NOTE, note)
        return done, note_ids[0]

    async def decide_level(self, case_id: str, principal: Principal, *, level: RiskLevel, reason: str) -> Done:
        return await self._act(
            case_id,
            principal,
            Action.ASSESS_CASE,
            lambda c, now: c.decide_level(level, reason, by=actor_of(principal), now=now),
        )

    async def add_followup(self, case_id: str, principal: Principal, *, kind: FollowupKind, **fields: Any) -> Done:
        return await self._act(
            case_id,
            principal,
            Action.RECORD_FOLLOWUP,
            lambda c, now: c.add_followup(kind, by=actor_of(principal), now=now, **fields),
        )

    async def close(self, case_id: str, principal: Principal, *, reason: str) -> Done:
        return await self._act(
            case_id,
            principal,
            Action.CLOSE_CASE,
            lambda c, now: c.close(reason, by=actor_of(principal), now=now, ack_levels=self._ack_levels),
        )

    async def reopen(self, case_id: str, principal: Principal, *, reason: str) -> Done:
        return await self._act(
            case_id, principal, Action.REOPEN_CASE, lambda c, now: c.reopen(reason, by=actor_of(principal), now=now)
        )

    async def _act(
        self, case_id: str, principal: Principal, action: Action, change: Callable[[Case, datetime], T]
    ) -> Done:
        async with self._store.case(case_id) as case:
            if not case.opened:
                raise CaseNotFound(f"no case {case_id}")
            decision = may(principal, action, case_access(case))
            if not decision:
                raise NotAllowed(decision.reason)
            now = datetime.now(UTC)
            result = change(case, now)
            if result is not False:
                tell_reporters(case, now=now)
        changed = result is not False
        with structlog.contextvars.bound_contextvars(case_id=case_id):
            log.info("case_workflow", action=action.value, changed=changed, role=principal.role.value)
        if changed:
            await self._deliveries.publish(case)
        return Done(case=case, changed=changed)
