"""Privacy-safe aggregates: which dimensions exist, and disclosure control of the cells (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from services.reporting.errors import UnknownDimension
from shared.contracts.events import CaseTriaged, ReportCell

# Public dimension name → field of the reporting fact document.
DIMENSIONS: dict[str, str] = {
    "role": "role",
    "gender": "gender",
    "type": "types",
    "channel": "channel",
    "risk_level": "level",
    "period": "period",
    "body_kind": "body_kind",
}


def period_of(moment: datetime) -> str:
    return f"{moment.year:04d}-{moment.month:02d}"


def fact_of(event: CaseTriaged) -> dict[str, object]:
    """The reporting fact of one case: no name, no free text, one pseudonym."""
    facts = event.facts
    return {
        "assessment_no": event.assessment_no,
        "office_holder_ref": facts.office_holder_ref,
        "role": facts.role.value,
        "gender": facts.gender.value,
        "types": [t.value for t in facts.types],
        "channel": facts.channel.value,
        "level": event.level.value,
        "body_kind": facts.body_kind.value,
        "period": period_of(facts.occurred_at),
        "occurred_at": facts.occurred_at,
        "impact_on_functioning": facts.impact_on_functioning,
        "wants_aangifte": facts.wants_aangifte,
    }


def parse_group_by(raw: str | None) -> tuple[str, ...]:
    names = tuple(n.strip() for n in (raw or "").split(",") if n.strip())
    unknown = [n for n in names if n not in DIMENSIONS]
    if unknown:
        raise UnknownDimension(f"unknown group_by dimension(s): {', '.join(unknown)}; known: {', '.join(DIMENSIONS)}")
    return tuple(dict.fromkeys(names))


@dataclass(frozen=True, slots=True)
class RawCell:
    dims: dict[str, str]
    incidents: int
    affected: int


def suppress(cells: Iterable[RawCell], *, threshold: int) -> list[ReportCell]:
    """Primary suppression: a cell whose counts fall under the threshold shows no counts."""
    out: list[ReportCell] = []
    for cell in cells:
        small = cell.incidents < threshold or cell.affected < threshold
        out.append(
            ReportCell(
                dims=cell.dims,
                incidents=None if small else cell.incidents,
                affected_office_holders=None if small else cell.affected,
                suppressed=small,
            )
        )
    return out


def cell_key(dims: dict[str, str]) -> str:
    return "|".join(f"{k}={dims[k]}" for k in sorted(dims)) or "total"


def sort_cells(cells: Sequence[ReportCell], group_by: Sequence[str]) -> list[ReportCell]:
    return sorted(cells, key=lambda c: tuple(c.dims.get(d, "") for d in group_by))
