"""The hand-written evaluation set (``tests/triage/cases/*.yaml``): load cases and score the model on them."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from services.triage.domain import HistoryEntry
from shared.contracts.events import RiskLevel
from shared.contracts.incident import Channel, IncidentReport, IncidentType
from shared.contracts.topics import Recipient

CASES_DIR = Path(__file__).resolve().parent / "cases"
DEFAULT_OCCURRED_AT = "2026-10-15T20:00:00+02:00"


@dataclass(frozen=True)
class Case:
    id: str
    body: dict[str, Any]
    history: tuple[HistoryEntry, ...]
    level: RiskLevel
    routes: frozenset[Recipient]

    @property
    def report(self) -> IncidentReport:
        return IncidentReport.model_validate(self.body)


def _body(report: dict[str, Any]) -> dict[str, Any]:
    """The contract body: the case's fields over a neutral reporter, name and contact."""
    body = copy.deepcopy(report)
    body.setdefault("reported_by", {"kind": "self"})
    holder = body["office_holder"]
    holder.setdefault("name", "E. Valuatie")
    holder.setdefault("contact", {"email": "evaluatie@example.nl"})
    body["incident"].setdefault("occurred_at", DEFAULT_OCCURRED_AT)
    return body


def _history(case_id: str, occurred_at: datetime, entries: Iterable[dict[str, Any]]) -> tuple[HistoryEntry, ...]:
    return tuple(
        HistoryEntry(
            case_id=f"{case_id}-earlier-{n}",
            event_id=f"{case_id}-event-{n}",
            occurred_at=occurred_at - timedelta(days=entry["days_before"]),
            channel=Channel(entry["channel"]),
            level=RiskLevel(entry["level"]),
            types=tuple(IncidentType(t) for t in entry["types"]),
            perpetrator_repeat=entry.get("perpetrator_repeat", False),
        )
        for n, entry in enumerate(entries)
    )


def load_cases(directory: Path = CASES_DIR) -> list[Case]:
    cases = []
    for path in sorted(directory.glob("*.yaml")):
        for raw in yaml.safe_load(path.read_text(encoding="utf-8")):
            body = _body(raw["report"])
            occurred_at = datetime.fromisoformat(body["incident"]["occurred_at"])
            cases.append(
                Case(
                    id=raw["id"],
                    body=body,
                    history=_history(raw["id"], occurred_at, raw.get("history", ())),
                    level=RiskLevel(raw["expected"]["level"]),
                    routes=frozenset(Recipient(r) for r in raw["expected"]["routes"]),
                )
            )
    return cases


@dataclass(frozen=True)
class LevelScore:
    level: RiskLevel
    expected: int
    predicted: int
    correct: int

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.correct / self.expected if self.expected else 1.0


def level_scores(pairs: list[tuple[RiskLevel, RiskLevel]]) -> list[LevelScore]:
    """Precision and recall per level from (expected, predicted) pairs."""
    return [
        LevelScore(
            level=level,
            expected=sum(1 for exp, _ in pairs if exp is level),
            predicted=sum(1 for _, got in pairs if got is level),
            correct=sum(1 for exp, got in pairs if exp is level and got is level),
        )
        for level in RiskLevel
    ]


def table(scores: list[LevelScore]) -> str:
    lines = [f"{'level':<9} {'expected':>8} {'predicted':>9} {'correct':>7} {'precision':>9} {'recall':>7}"]
    lines += [
        f"{s.level.value:<9} {s.expected:>8} {s.predicted:>9} {s.correct:>7} {s.precision:>9.0%} {s.recall:>7.0%}"
        for s in scores
    ]
    return "\n".join(lines)
