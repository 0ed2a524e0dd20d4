"""The acute lane: a high or critical case's police notification first, ahead of any routine backlog.

Notify reads both urgent topics with consumers of their own, in small batches whose cases run side by side. What counts
is how few store commands stand between an urgent decision and its police notification, and how few each urgent record
costs: a burst of high-rated reports queues on these consumers, and a decision that waits more than
``urgent_patience_s`` for its report is left to the main lane. So the urgent report opens the case with one insert; the
urgent decision finds the case in memory (the aggregate cache) and stores and publishes the police notification with one
more; the other recipients follow in the background, as routine work that steps aside while acute work is on its way.
Every urgent record is a copy of a main-topic record (same event id): whatever a crash leaves undone, the main-topic
copies do, and what was done they find done.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime

from services.notify.model import CaseNotifications, NotifyPolicy
from services.notify.ports import Repository
from services.notify.sending import Sender
from services.notify.service import Clock, NotifyService, millis
from shared.contracts.events import CaseTriaged, IncidentReported, utcnow
from shared.contracts.topics import Recipient
from shared.messaging.lanes import AcuteGate, routine
from shared.runtime.detached import Detached

OTHERS_AT_ONCE = 4
"""Cases whose other recipients are notified at the same time; the rest wait in memory (a burst of acute cases
would otherwise queue that many bulk inserts on the store ahead of the next police notification)."""


class AcuteLane:
    def __init__(
        self,
        store: Repository,
        sender: Sender,
        service: NotifyService,
        policy: NotifyPolicy,
        *,
        clock: Clock = utcnow,
        gate: AcuteGate | None = None,
    ) -> None:
        self._gate = gate
        self._others = asyncio.Semaphore(OTHERS_AT_ONCE)
        self._store = store
        self._sender = sender
        self._service = service
        self._policy = policy
        self._now = millis(clock)
        # Left to the decision's copy on the main topic when they fail: it creates whatever is missing.
        self.behind_the_police = Detached("acute_recipients_left_to_main_lane")

    async def remember_report(self, reported: IncidentReported) -> None:
        await self._service.remember_reports(reported.case_id, [reported])

    async def take_case(self, case_id: str, events: list[IncidentReported | CaseTriaged]) -> None:
        """A case's urgent records of one batch: its report first (whatever the order they came in), then decisions."""
        reports = [e for e in events if isinstance(e, IncidentReported)]
        if reports:
            await self._service.remember_reports(case_id, reports)
        for decision in events:
            if isinstance(decision, CaseTriaged):
                await self.notify(decision)

    async def notify(self, decision: CaseTriaged) -> None:
        """The police notification stored and published; the other recipients in the background, so the next acute
        case never waits behind them (the main-topic copy covers a crash in between)."""
        if not decision.routes:
            return
        now = self._now()
        case = await self._store.peek_case(decision.case_id) or CaseNotifications(case_id=decision.case_id)
        made = case.notify(decision, now=now, policy=self._policy)  # on a copy: the background unit saves the case
        if not made:
            return
        stored: frozenset[str] = frozenset()
        police = made[0] if made[0].recipient is Recipient.POLICE else None
        if police is not None:
            if not self._sender.published(police.first_sending()):
                if await self._store.create([police]):  # stored before: send it as it was stored
                    police = await self._store.peek_notification(police.notification_id) or police
                stored = frozenset({police.notification_id})
            await self._sender.send(police.first_sending())
        self.behind_the_police.start(self._the_others(decision, at=now, stored=stored))

    async def _the_others(self, decision: CaseTriaged, *, at: datetime, stored: frozenset[str]) -> None:
        """The other recipients, as routine work: they step aside for the next case's police (their bulk insert
        would otherwise hold the notifications collection while the police notification waits to be stored)."""
        async with self._others:
            with routine(self._gate) if self._gate is not None else contextlib.nullcontext():
                await self._service.notify(decision.case_id, [decision], at=at, stored=stored)
