"""The attacker's data set and tools: a year of cases shaped like the issue's three attacks, and interval arithmetic.

The year holds 45 cases, one office holder each, with the small cells of the issue: at_home = 3 (online the smallest
other channel, so the old per-table suppression hides online as its partner), March = 2 (April, 7, its partner), and
both March cases female (vrouw 7 in January-February, 9 in January-March).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.contracts.events import CaseFacts, CaseTriaged, Envelope, RiskLevel, new_id
from shared.contracts.incident import BodyKind, Channel, DirectedAt, Gender, IncidentType, Role

CHANNELS = {"online": 6, "in_person": 12, "phone": 9, "mail": 7, "at_meeting": 8, "at_home": 3}
MONTHS = {1: (4, 4), 2: (3, 6), 3: (2, 0), 4: (3, 4), 5: (5, 5), 6: (4, 5)}  # month: (vrouw, man)


@dataclass(frozen=True)
class Case:
    case_id: str
    month: int
    gender: str
    channel: str
    role: str = "raadslid"
    level: str = "medium"
    impact: bool = False
    wants_aangifte: bool = False


def triaged(case: Case, year: int, *, occurred: datetime | None = None) -> CaseTriaged:
    at = occurred or datetime(year, case.month, 10, 12, tzinfo=UTC)
    role = Role(case.role)
    kind, code = ("gemeente", "GM0599") if role is not Role.STATENLID else ("provincie", "PV26")
    return CaseTriaged(
        case_id=case.case_id,
        assessment_no=1,
        policy_version="attack",
        level=RiskLevel(case.level),
        score=1.0,
        factors=(),
        routes=(),
        facts=CaseFacts(
            office_holder_ref=f"oh_attack{new_id()[:20]}",
            role=role,
            body_kind=BodyKind(kind),
            body_code=code,
            gender=Gender(case.gender),
            types=(IncidentType.THREAT,),
            channel=Channel(case.channel),
            occurred_at=at,
            reported_at=at + timedelta(hours=2),
            impact_on_functioning=case.impact,
            wants_aangifte=case.wants_aangifte,
            directed_at=DirectedAt.PERSON if case.gender == "vrouw" else DirectedAt.OFFICE,
        ),
        occurred=at + timedelta(hours=3),
    )


def year_of_cases(rng: random.Random) -> list[Case]:
    channels = [name for name, count in CHANNELS.items() for _ in range(count)]
    rng.shuffle(channels)
    cases = []
    for month, (women, men) in MONTHS.items():
        for gender in ["vrouw"] * women + ["man"] * men:
            level = rng.choice(["medium", "high", "low"])
            cases.append(
                Case(
                    new_id(),
                    month,
                    gender,
                    channels.pop(),
                    level=level,
                    impact=rng.random() < 0.4,
                    wants_aangifte=rng.random() < 0.4,
                )
            )
    return cases


def events_of(cases: list[Case], year: int) -> list[Envelope]:
    return [triaged(case, year) for case in cases]


# --- the attacker's arithmetic: what the published cells say about the true counts -------------------------------


@dataclass(frozen=True)
class Span:
    low: float
    high: float

    def __sub__(self, other: Span) -> Span:
        return Span(self.low - other.high, self.high - other.low)

    def meet(self, other: Span) -> Span:
        return Span(max(self.low, other.low), min(self.high, other.high))

    @property
    def exact(self) -> int | None:
        """The one value the published figures allow, if they allow only one."""
        return int(self.low) if self.low == self.high and math.isfinite(self.low) else None


def span(cell: dict[str, Any] | None, *, base: int, threshold: int) -> Span:
    """What a published cell says of its true incident count.

    An absent cell is 0; a suppressed one at least 1 (it may hide a large count with few office holders); a shown
    one lies within the rounding, and at the threshold or above.
    """
    if cell is None:
        return Span(0, 0)
    if cell["suppressed"]:
        return Span(1, math.inf)
    value = cell["incidents"]
    return Span(max(value - base + 1, threshold), value + base - 1)
