"""Privacy-safe aggregates: which dimensions exist, how facts become cells, and which cells may be shown (pure)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time

from services.reporting.disclosure import Method, RawCell, Rounding, primary, protect
from services.reporting.errors import RefusedDimension, UnknownDimension
from services.reporting.facts import LOCAL, Fact
from services.reporting.periods import Calendar
from services.reporting.population import Population
from shared.contracts.events import ReportCell

__all__ = [
    "DIMENSIONS",
    "Disclosure",
    "RawCell",
    "cell_key",
    "parse_group_by",
    "percentile",
    "report",
    "sort_cells",
    "suppress",
    "tabulate",
    "window",
]

# Public dimensions, each with what it means (documented in docs/reporting.md).
DIMENSIONS: dict[str, str] = {
    "period": "month of the incident (YYYY-MM, Europe/Amsterdam)",
    "quarter": "quarter of the incident (YYYY-Qn)",
    "year": "year of the incident",
    "role": "office: raadslid, wethouder, burgemeester, statenlid, gedeputeerde, waterschapsbestuurder",
    "gender": "vrouw, man, anders, onbekend",
    "type": "incident type; a case with several types counts once under each",
    "channel": "online, in_person, phone, mail, at_home, at_meeting",
    "channel_group": "online or offline",
    "risk_level": "triage's latest risk level",
    "body_kind": "gemeente, provincie, waterschap",
    "province": "province of the body (gemeenten: a subset, else onbekend)",
    "impact_on_functioning": "ja/nee: the office holder reports an effect on functioning",
    "aangifte_wanted": "ja/nee: the office holder wants to file an aangifte",
    "aangifte_filed": "ja/nee: the police registered an aangifte",
    "followup_outcome": "furthest follow-up: geen, aangifte_opgenomen, maatregel, verdachte_in_beeld, om_*",
    "otwb_aftercare": "ja/nee: OTWB recorded aftercare",
    "ccv_scan": "geen, aangevraagd, uitgevoerd: the CCV security scan",
    "protective_measure": "ja/nee: a protective measure was ordered (OM, burgemeester or NCTV)",
    "directed_at": "person, office, both, unknown: aimed at the person or at the office",
    "platform": "online incidents: x, facebook, instagram, tiktok, youtube, linkedin, whatsapp, telegram, email, "
    "other, onbekend; n.v.t. for offline incidents",
    "council_term": "municipal council term of the incident, election day to election day (e.g. 2022-2026)",
}
# Never dimensions: they would cross role with a single municipality (each municipality has one burgemeester).
REFUSED = frozenset({"municipality", "gemeente", "body_code", "body", "municipality_code", "office_holder"})
MAX_DIMENSIONS = 4


def parse_group_by(raw: str | None) -> tuple[str, ...]:
    """The requested dimensions in order, refusing unknown ones and anything that singles out a body."""
    names = tuple(dict.fromkeys(n.strip() for n in (raw or "").split(",") if n.strip()))
    refused = [n for n in names if n.lower() in REFUSED]
    if refused:
        raise RefusedDimension(
            f"group_by {', '.join(refused)} is refused: figures are never broken down by a single municipality "
            "or body, and role is never crossed with one"
        )
    unknown = [n for n in names if n not in DIMENSIONS]
    if unknown:
        raise UnknownDimension(f"unknown group_by dimension(s): {', '.join(unknown)}; known: {', '.join(DIMENSIONS)}")
    if len(names) > MAX_DIMENSIONS:
        raise UnknownDimension(f"at most {MAX_DIMENSIONS} group_by dimensions at a time")
    return names


def window(start: date | None, end: date | None) -> tuple[datetime | None, datetime | None]:
    """The query window widened to whole months (local time), so narrow windows cannot be differenced."""
    low = datetime.combine(start.replace(day=1), time.min, LOCAL) if start else None
    high = None
    if end:
        first_next = date(end.year + end.month // 12, end.month % 12 + 1, 1)
        high = datetime.combine(first_next, time.min, LOCAL)
    return low, high


@dataclass(frozen=True, slots=True)
class Disclosure:
    """How figures are protected (docs/reporting.md); ``per_table`` is the old method, kept for the attack suite."""

    threshold: int
    rounding: Rounding
    method: Method = Method.CONSISTENT
    lag_days: int = 0

    def calendar(self, now: datetime) -> Calendar | None:
        """Closed periods only (consistent); the old method published every period at once."""
        return Calendar.at(now, self.lag_days) if self.method is Method.CONSISTENT else None


@dataclass
class _Tally:
    incidents: int = 0
    cases: set[str] = field(default_factory=set)
    refs: set[str] = field(default_factory=set)
    notification: list[float] = field(default_factory=list)
    acknowledgement: list[float] = field(default_factory=list)


def tabulate(facts: Iterable[Fact], group_by: Sequence[str]) -> list[RawCell]:
    """Exact cells of the facts grouped by ``group_by`` (empty cells do not appear)."""
    tallies: dict[tuple[str, ...], _Tally] = defaultdict(_Tally)
    for fact in facts:
        for kind in fact.types if "type" in group_by else ("",):
            key = tuple(kind if d == "type" else fact.dims[d] for d in group_by)
            tally = tallies[key]
            tally.incidents += 1
            tally.cases.add(fact.case_id)
            tally.refs.add(fact.office_holder_ref)
            if fact.minutes_to_notification is not None:
                tally.notification.append(fact.minutes_to_notification)
            if fact.minutes_to_acknowledgement is not None:
                tally.acknowledgement.append(fact.minutes_to_acknowledgement)
    return [
        RawCell(
            dims=dict(zip(group_by, key, strict=True)),
            incidents=t.incidents,
            affected=len(t.refs),
            minutes_to_notification=tuple(sorted(t.notification)),
            minutes_to_acknowledgement=tuple(sorted(t.acknowledgement)),
            cases=frozenset(t.cases),
            refs=frozenset(t.refs),
        )
        for key, t in tallies.items()
    ]


def percentile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between the closest ranks (numpy's default), rounded to 0.1."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return round(ordered[low] + (ordered[high] - ordered[low]) * (position - low), 1)


def _percentiles(values: Sequence[float], threshold: int) -> tuple[float | None, float | None]:
    if len(values) < threshold:
        return None, None
    return percentile(values, 0.5), percentile(values, 0.9)


def report(
    cells: Sequence[RawCell],
    *,
    threshold: int,
    population: Population | None = None,
    rounding: Rounding | None = None,
) -> list[ReportCell]:
    """Cells fit for publication: suppressed, or with counts, share and response times.

    With ``rounding`` (the consistent method): small cells suppressed, every shown count randomly rounded by its
    contributors. Without it (the old per-table method): exact counts, with secondary suppression in this table.
    """
    hidden = primary(cells, threshold=threshold) if rounding else protect(cells, threshold=threshold)
    out: list[ReportCell] = []
    for i, cell in enumerate(cells):
        if i in hidden:
            out.append(ReportCell(dims=cell.dims, incidents=None, affected_office_holders=None, suppressed=True))
            continue
        incidents, affected = cell.incidents, cell.affected
        if rounding:
            incidents = rounding.round(incidents, "incidents", cell.cases)
            affected = rounding.round(affected, "affected", cell.refs)
        size = population.of(cell.dims) if population else None
        notify_p50, notify_p90 = _percentiles(cell.minutes_to_notification, threshold)
        ack_p50, ack_p90 = _percentiles(cell.minutes_to_acknowledgement, threshold)
        out.append(
            ReportCell(
                dims=cell.dims,
                incidents=incidents,
                affected_office_holders=affected,
                share_affected=round(affected / size, 4) if size else None,
                minutes_to_notification_p50=notify_p50,
                minutes_to_notification_p90=notify_p90,
                minutes_to_acknowledgement_p50=ack_p50,
                minutes_to_acknowledgement_p90=ack_p90,
            )
        )
    return out


def suppress(cells: Sequence[RawCell], *, threshold: int) -> list[ReportCell]:
    """Disclosure control without shares: see :func:`report`."""
    return report(cells, threshold=threshold)


def cell_key(dims: dict[str, str]) -> str:
    """The compacted-topic key of a cell: its dimensions, sorted by name."""
    return "|".join(f"{k}={dims[k]}" for k in sorted(dims)) or "total"


def sort_cells(cells: Sequence[ReportCell], group_by: Sequence[str]) -> list[ReportCell]:
    return sorted(cells, key=lambda c: tuple(c.dims.get(d, "") for d in group_by))
