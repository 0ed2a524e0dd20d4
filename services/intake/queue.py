"""The caller's queue (``GET /v1/cases``): an in-memory index of every case, kept by what this process saves.

The store cannot answer a list cheaply: on FerretDB any filter but a bare ``_id`` reads and decodes the whole
collection. So intake reads every case once at start (``CaseRepository.every_case``) and then keeps each entry current
from the cases it saves itself (``CaseRepository.watchers``: no extra store command on the write path). An entry holds
only non-personal facts. Every query is scoped exactly like a case read (``services/intake/access.py``).

One index per process: with several intake processes (MongoDB), each serves the cases it saved since it started;
this stack runs one intake process (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from services.intake.access import case_access, listable
from services.intake.domain import Case
from services.intake.values import CaseStatus
from shared.contracts.events import NotificationState, RiskLevel
from shared.contracts.topics import Recipient
from shared.web.auth import Principal, Role
from shared.web.policy import CaseAccess

_RANK = {level: rank for rank, level in enumerate(RiskLevel)}
ACUTE = frozenset({RiskLevel.HIGH, RiskLevel.CRITICAL})
OVERDUE = frozenset({NotificationState.ESCALATED, NotificationState.FOLLOWUP_OVERDUE})
"""A notification past a deadline: its acknowledgement (escalated) or the aangifte's follow-up."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Entry:
    """What the queue knows of one case: no names, no free text."""

    case_id: str
    status: CaseStatus
    level: RiskLevel | None
    recommended_level: RiskLevel | None
    decided_level: RiskLevel | None
    access: CaseAccess
    deliveries: dict[Recipient, NotificationState]
    assignments: dict[Recipient, str]
    body_code: str | None
    office_holder_role: str | None
    types: tuple[str, ...]
    channel: str | None
    created_at: datetime | None
    updated_at: datetime | None
    closed_at: datetime | None
    words: str
    """What free-text search looks in: the entry's own facts, lower case."""

    @classmethod
    def of(cls, case: Case) -> Entry:
        facts = case.reports[0].facts if case.reports else None
        types = tuple(sorted({t.value for r in case.reports for t in r.facts.types}))
        entry = cls(
            case_id=case.case_id,
            status=case.status,
            level=case.risk.level if case.risk else None,
            recommended_level=(case.recommendation or case.risk).level if case.risk else None,
            decided_level=case.decisions[-1].level if case.decisions else None,
            access=case_access(case),
            deliveries={r: d.status for r, d in case.notifications.items()},
            assignments={p: a.to for p, a in case.assignments.items()},
            body_code=case.body_code,
            office_holder_role=facts.office_holder_role.value if facts else None,
            types=types,
            channel=facts.channel.value if facts else None,
            created_at=case.created_at,
            updated_at=case.updated_at,
            closed_at=case.closure.at if case.closure else None,
            words="",
        )
        factors = [f.code for f in case.risk.factors] if case.risk else []
        words = [entry.case_id, entry.status.value, entry.body_code or "", entry.office_holder_role or ""]
        words += [*types, entry.channel or "", entry.level.value if entry.level else "", *factors]
        words += [*entry.access.routes, *entry.assignments.values()]
        return _with_words(entry, " ".join(words).lower())

    @property
    def acute(self) -> bool:
        return self.level in ACUTE

    @property
    def overdue(self) -> bool:
        return any(state in OVERDUE for state in self.deliveries.values())

    def unacknowledged(self, principal: Principal) -> list[Recipient]:
        """Notifications not acknowledged: the caller's own recipient's when it is one, else every recipient's."""
        mine = _recipient_of(principal)
        return sorted(
            (
                r
                for r, state in self.deliveries.items()
                if state is not NotificationState.ACKNOWLEDGED and (mine is None or r is mine)
            ),
            key=lambda r: r.value,
        )

    def priority(self) -> tuple[int, int, int, float]:
        """Acute and overdue first, then the higher level, overdue before not, the latest change first."""
        rank = _RANK[self.level] if self.level else -1
        changed = (self.updated_at or self.created_at or _EPOCH).timestamp()
        return (0 if (self.acute or self.overdue) else 1, -rank, 0 if self.overdue else 1, -changed)

    def view(self, principal: Principal) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "status": self.status.value,
            "level": _value(self.level),
            "recommended_level": _value(self.recommended_level),
            "decided_level": _value(self.decided_level),
            "routes": list(self.access.routes),
            "office_holder_role": self.office_holder_role,
            "body_code": self.body_code,
            "types": list(self.types),
            "channel": self.channel,
            "notifications": {r.value: s.value for r, s in self.deliveries.items()},
            "assigned": {p.value: to for p, to in self.assignments.items()},
            "overdue": self.overdue,
            "unacknowledged": [r.value for r in self.unacknowledged(principal)],
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
            "closed_at": _iso(self.closed_at),
        }


@dataclass(frozen=True, slots=True)
class Filters:
    """What ``GET /v1/cases`` may filter on (all optional; every one given must hold)."""

    recipient: Recipient | None = None
    status: str | None = None
    """``open``, ``closed`` or one exact status."""
    level: RiskLevel | None = None
    assigned_to: str | None = None
    """``me`` (the caller's token subject) or a staff identifier."""
    unacknowledged: bool | None = None
    overdue: bool | None = None
    q: str | None = None

    def hold(self, entry: Entry, principal: Principal) -> bool:
        if self.recipient is not None and self.recipient.value not in entry.access.routes:
            return False
        if self.status is not None and not _status_matches(self.status, entry.status):
            return False
        if self.level is not None and entry.level is not self.level:
            return False
        if self.assigned_to is not None:
            who = principal.sub if self.assigned_to == "me" else self.assigned_to
            if who not in entry.assignments.values():
                return False
        if self.unacknowledged is not None and bool(entry.unacknowledged(principal)) != self.unacknowledged:
            return False
        if self.overdue is not None and entry.overdue != self.overdue:
            return False
        return not self.q or all(word in entry.words for word in self.q.lower().split())


@dataclass(frozen=True, slots=True)
class Page:
    items: list[dict[str, Any]]
    total: int
    next_page: int | None


class CaseQueue:
    def __init__(self) -> None:
        self._entries: dict[str, Entry] = {}
        self.loaded = False

    def put(self, case: Case) -> None:
        """A case as just saved (``CaseRepository.watchers``)."""
        if case.opened:
            self._entries[case.case_id] = Entry.of(case)

    def load(self, cases: Iterable[Case]) -> None:
        for case in cases:
            self._entries.setdefault(case.case_id, Entry.of(case))  # what was saved meanwhile is newer
        self.loaded = True

    def __len__(self) -> int:
        return len(self._entries)

    def page(self, principal: Principal, filters: Filters, *, page: int, per_page: int) -> Page:
        """The caller's cases that hold the filters, most urgent first, one page of them."""
        visible = listable(principal)
        mine = [e for e in self._entries.values() if visible(e.access) and filters.hold(e, principal)]
        mine.sort(key=Entry.priority)
        start = (page - 1) * per_page
        items = [e.view(principal) for e in mine[start : start + per_page]]
        return Page(items=items, total=len(mine), next_page=page + 1 if start + per_page < len(mine) else None)


def _status_matches(wanted: str, status: CaseStatus) -> bool:
    if wanted == "open":
        return status is not CaseStatus.CLOSED
    if wanted == "closed":
        return status is CaseStatus.CLOSED
    return status.value == wanted


def _recipient_of(principal: Principal) -> Recipient | None:
    if principal.role in (Role.REPORTER, Role.ADMIN):
        return None
    try:
        return Recipient(principal.role.value)
    except ValueError:
        return None


def _with_words(entry: Entry, words: str) -> Entry:
    return replace(entry, words=words)


def _value(level: RiskLevel | None) -> str | None:
    return None if level is None else level.value


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()
