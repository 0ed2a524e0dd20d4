"""A generated population of cases published straight to the topics, with figures computed independently."""

from __future__ import annotations

import random
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from aiokafka import AIOKafkaProducer

from shared.contracts.envelope import to_record
from shared.contracts.events import (
    CaseFacts,
    CaseFollowup,
    CaseTriaged,
    Envelope,
    FollowupKind,
    NotificationState,
    NotificationStatus,
    RiskLevel,
    new_id,
)
from shared.contracts.incident import BodyKind, Channel, Gender, IncidentType, Role
from shared.contracts.topics import Recipient
from shared.messaging.kafka_auth import operator_options

ROLES = [Role.RAADSLID, Role.WETHOUDER, Role.BURGEMEESTER, Role.STATENLID]
BODY = {
    Role.RAADSLID: ("gemeente", "GM0344"),
    Role.WETHOUDER: ("gemeente", "GM0363"),
    Role.BURGEMEESTER: ("gemeente", "GM0599"),
    Role.STATENLID: ("provincie", "PV26"),
}


@dataclass
class Case:
    case_id: str
    ref: str
    role: str
    gender: str
    channel_group: str
    risk_level: str
    types: tuple[str, ...]
    sent_after_min: int | None
    ack_after_min: int | None
    month: int


@dataclass
class Generated:
    year: int
    cases: list[Case] = field(default_factory=list)
    events: list[Envelope] = field(default_factory=list)

    def expected(self, *dims: str) -> dict[tuple[str, ...], tuple[int, int]]:
        """(incidents, distinct office holders) per cell, computed from the generated cases."""
        incidents: dict[tuple[str, ...], int] = defaultdict(int)
        refs: dict[tuple[str, ...], set[str]] = defaultdict(set)
        for case in self.cases:
            key = tuple(_value(case, d, self.year) for d in dims)
            incidents[key] += 1
            refs[key].add(case.ref)
        return {k: (incidents[k], len(refs[k])) for k in incidents}

    def contributors(self, *dims: str) -> dict[tuple[str, ...], tuple[set[str], set[str]]]:
        """The cases and the office holders behind each cell (the rounding's cell key)."""
        cells: dict[tuple[str, ...], tuple[set[str], set[str]]] = defaultdict(lambda: (set(), set()))
        for case in self.cases:
            cases, refs = cells[tuple(_value(case, d, self.year) for d in dims)]
            cases.add(case.case_id)
            refs.add(case.ref)
        return dict(cells)

    def response_percentiles(self, level: str) -> tuple[float, float] | None:
        minutes = [c.sent_after_min for c in self.cases if c.risk_level == level and c.sent_after_min is not None]
        if len(minutes) < 5:
            return None
        deciles = statistics.quantiles(minutes, n=10, method="inclusive")
        return deciles[4], deciles[8]


def _value(case: Case, dim: str, year: int) -> str:
    if dim == "period":
        return f"{year}-{case.month:02d}"
    if dim == "year":
        return str(year)
    return str(getattr(case, dim))


def generate(rng: random.Random, *, count: int = 90) -> Generated:
    """Cases in a year no other test uses; with re-triage, duplicates and out-of-order delivery mixed in."""
    year = rng.randint(1901, 1999)
    out = Generated(year)
    refs = [f"oh_test{new_id()[:20]}" for _ in range(count * 2 // 3)]
    for _ in range(count):
        role = rng.choices(ROLES, weights=[60, 20, 6, 14])[0]
        gender = rng.choices([Gender.VROUW, Gender.MAN], weights=[45, 55])[0]
        channel = rng.choice([Channel.ONLINE, Channel.ONLINE, Channel.IN_PERSON, Channel.PHONE])
        month = rng.randint(1, 12)
        occurred = datetime(year, month, rng.randint(1, 28), 12, tzinfo=UTC)
        reported = occurred + timedelta(hours=rng.randint(1, 48))
        kind, code = BODY[role]
        facts = CaseFacts(
            office_holder_ref=rng.choice(refs),
            role=role,
            body_kind=BodyKind(kind),
            body_code=code,
            gender=gender,
            types=(rng.choice(list(IncidentType)),),
            channel=channel,
            occurred_at=occurred,
            reported_at=reported,
            impact_on_functioning=rng.random() < 0.4,
            wants_aangifte=rng.random() < 0.3,
        )
        case_id = new_id()
        first_level = rng.choice(list(RiskLevel))
        final_level = first_level
        triaged = CaseTriaged(
            case_id=case_id,
            assessment_no=1,
            policy_version="t",
            level=first_level,
            score=1.0,
            factors=(),
            routes=(),
            facts=facts,
            occurred=reported,
        )
        later: list[Envelope] = []
        if rng.random() < 0.2:  # re-triaged; the second assessment is delivered first
            final_level = rng.choice(list(RiskLevel))
            later = [triaged.model_copy(update={"assessment_no": 2, "level": final_level, "event_id": new_id()})]
        sent = ack = None
        status: list[Envelope] = []
        if rng.random() < 0.8:
            sent = rng.randint(1, 240)
            ack = sent + rng.randint(5, 600)
            for minutes, state in (
                (sent, NotificationState.SENT),
                (sent + 30, NotificationState.SENT),
                (ack, NotificationState.ACKNOWLEDGED),
            ):
                status.append(
                    NotificationStatus(
                        case_id=case_id,
                        notification_id=new_id(),
                        recipient=Recipient.OTWB,
                        status=state,
                        level=final_level,
                        occurred=reported + timedelta(minutes=minutes),
                    )
                )
        followups: list[Envelope] = []
        if rng.random() < 0.2:
            followups.append(
                CaseFollowup(case_id=case_id, kind=FollowupKind.AANGIFTE_REGISTERED, organisation="politie")
            )
        # Out of order: notifications first, the later assessment before the first one, duplicates of some.
        sequence = [*reversed(status), *later, triaged, *followups]
        if rng.random() < 0.3:
            sequence += [triaged, *status[:1]]  # exact duplicates (same event ids)
        out.events += sequence
        out.cases.append(
            Case(
                case_id,
                facts.office_holder_ref,
                role.value,
                gender.value,
                "online" if channel is Channel.ONLINE else "offline",
                final_level.value,
                tuple(t.value for t in facts.types),
                sent,
                ack,
                month,
            )
        )
    return out


async def publish(bootstrap: str, events: list[Envelope]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, **operator_options())
    await producer.start()
    try:
        for event in events:
            record = to_record(event, source="/tests/reporting")
            await producer.send(record.topic, record.value, key=record.key, headers=list(record.headers.items()))
        await producer.flush()
    finally:
        await producer.stop()
