"""Notify's use cases wired to in-memory fakes, and sample events for them."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from services.notify.acute import AcuteLane
from services.notify.model import NotifyPolicy
from services.notify.sending import Outboxes, Sender
from services.notify.service import NotifyService
from shared.contracts.events import (
    CaseFacts,
    CaseTriaged,
    Factor,
    IncidentReported,
    NotificationAck,
    RiskLevel,
    Route,
)
from shared.contracts.incident import IncidentReport
from shared.contracts.topics import Recipient
from tests.notify.fakes import FakeClock, FakeStore, RecordingPublisher
from tests.support.samples import body

ACK_TIMEOUT_S = 60.0
CRITICAL_ROUTES = (
    Recipient.OTWB,
    Recipient.BZK,
    Recipient.POLICE,
    Recipient.OM,
    Recipient.JENV,
    Recipient.BURGEMEESTER,
)


def report(**changes: Any) -> IncidentReport:
    return IncidentReport.model_validate(body(**changes))


def reported(case_id: str, **changes: Any) -> IncidentReported:
    return IncidentReported(case_id=case_id, report=report(**changes))


def decision(
    case_id: str,
    *,
    assessment_no: int = 1,
    level: RiskLevel = RiskLevel.CRITICAL,
    routes: tuple[Recipient, ...] = CRITICAL_ROUTES,
) -> CaseTriaged:
    sample = report()
    return CaseTriaged(
        event_id=f"decision-{case_id}-{assessment_no}",
        case_id=case_id,
        assessment_no=assessment_no,
        policy_version="test",
        level=level,
        score=80,
        factors=(Factor(code="indicator.home_address_known", weight=25, explanation="address known"),),
        routes=tuple(Route(recipient=r, reason=f"test {r.value}") for r in routes),
        facts=CaseFacts(
            office_holder_ref="oh_0123456789abcdef",
            role=sample.office_holder.role,
            body_kind=sample.office_holder.body.kind,
            body_code=sample.office_holder.body.code,
            gender=sample.office_holder.gender,
            types=tuple(sample.incident.types),
            channel=sample.incident.channel,
            occurred_at=sample.incident.occurred_at,
            reported_at=datetime(2026, 11, 21, 8, 0, tzinfo=UTC),
            impact_on_functioning=True,
            wants_aangifte=sample.wants_aangifte,
        ),
    )


def ack(case_id: str, notification_id: str, recipient: Recipient, by: str = "desk") -> NotificationAck:
    return NotificationAck(case_id=case_id, notification_id=notification_id, recipient=recipient, acknowledged_by=by)


def new_case() -> str:
    return f"case-{uuid.uuid4().hex[:12]}"


@dataclass
class Notify:
    """The use cases over one fake store; ``restart()`` gives a fresh process (nothing remembered in memory)."""

    policy: NotifyPolicy = field(
        default_factory=lambda: NotifyPolicy(
            escalate_levels=frozenset({RiskLevel.CRITICAL}),
            ack_timeout_s=ACK_TIMEOUT_S,
            ack_max_resends=2,
            followup_deadline_s=3600.0,
        )
    )
    store: FakeStore = field(default_factory=FakeStore)
    publisher: RecordingPublisher = field(default_factory=RecordingPublisher)
    clock: FakeClock = field(default_factory=FakeClock)

    def __post_init__(self) -> None:
        self.restart()

    def restart(self) -> None:
        self.sender = Sender(self.publisher, source="/weerbaar/notify", service="notify-test")
        self.outboxes = Outboxes(self.store, self.sender, inline_timeout_s=1.0)
        self.service = NotifyService(self.store, self.sender, self.outboxes, self.policy, clock=self.clock)
        self.acute = AcuteLane(self.store, self.sender, self.service, self.policy, clock=self.clock)

    async def behind_the_police(self) -> None:
        """Wait until the acute lane's background work (the other recipients) is done."""
        while len(self.acute.behind_the_police):
            await asyncio.sleep(0)
