"""Publication periods (pure): months, quarters, years and council terms, and which of them are closed.

Figures are published per closed, non-overlapping period only (docs/reporting.md): a window is one whole month,
quarter or year, and a period is published once it ended ``lag_days`` ago. Nothing of an open period is shown, so a
new report changes nothing that is published until its month closes together with every other report of that month.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from services.reporting.errors import ReportingError

LOCAL = ZoneInfo("Europe/Amsterdam")
PERIOD_DIMENSIONS = ("period", "quarter", "year", "council_term")


class InvalidWindow(ReportingError):
    """A window that is not one whole, closed publication period."""

    code = "invalid_window"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _election_day(year: int) -> date:
    """Municipal council elections: the third Wednesday of March, every four years (2014, 2018, 2022, 2026, ...)."""
    first = date(year, 3, 1)
    return first + timedelta(days=(2 - first.weekday()) % 7 + 14)


def council_term(day: date) -> str:
    """The municipal council term a day falls in, from election day to the next one: ``2022-2026``."""
    start = day.year - (day.year - 2) % 4
    if day < _election_day(start):
        start -= 4
    return f"{start}-{start + 4}"


def _next_month(year: int, month: int) -> date:
    return date(year + month // 12, month % 12 + 1, 1)


def period_bounds(dimension: str, value: str) -> tuple[date, date] | None:
    """[first day, first day after) of a period value, or None when it is not one."""
    try:
        if dimension == "period":
            year, month = (int(p) for p in value.split("-"))
            return date(year, month, 1), _next_month(year, month)
        if dimension == "quarter":
            year_text, q = value.split("-Q")
            year, quarter = int(year_text), int(q)
            return date(year, 3 * quarter - 2, 1), _next_month(year, 3 * quarter)
        if dimension == "year":
            return date(int(value), 1, 1), date(int(value) + 1, 1, 1)
        if dimension == "council_term":
            first, last = (int(p) for p in value.split("-"))
            return _election_day(first), _election_day(last)
    except ValueError:
        return None
    return None


@dataclass(frozen=True, slots=True)
class Calendar:
    """Which periods are closed: a period is published ``lag_days`` after its last day, never before."""

    today: date
    lag_days: int = 0

    @classmethod
    def at(cls, now: datetime, lag_days: int) -> Calendar:
        return cls(now.astimezone(LOCAL).date(), lag_days)

    def closed(self, end_exclusive: date) -> bool:
        return end_exclusive + timedelta(days=self.lag_days) <= self.today

    def month_closed(self, occurred_at: datetime) -> bool:
        local = occurred_at.astimezone(LOCAL)
        return self.closed(_next_month(local.year, local.month))

    def cell_closed(self, dims: dict[str, str]) -> bool:
        """Whether every period a cell names is closed."""
        for dimension in PERIOD_DIMENSIONS:
            if dimension in dims:
                bounds = period_bounds(dimension, dims[dimension])
                if bounds is None or not self.closed(bounds[1]):
                    return False
        return True

    def window(self, start: date | None, end: date | None) -> tuple[datetime | None, datetime | None]:
        """The window of one whole closed month, quarter or year (both ends given), or everything (neither)."""
        if start is None and end is None:
            return None, None
        if start is None or end is None:
            missing = "from" if start is None else "to"
            raise InvalidWindow(missing, "give both from and to (one whole month, quarter or year), or neither")
        periods = {
            "month": (start.day == 1, _next_month(start.year, start.month)),
            "quarter": (start.day == 1 and start.month % 3 == 1, _next_month(start.year, start.month + 2)),
            "year": (start.day == 1 and start.month == 1, date(start.year + 1, 1, 1)),
        }
        matching = [after for fits, after in periods.values() if fits and end + timedelta(days=1) == after]
        if not matching:
            raise InvalidWindow(
                "to",
                "figures are published per whole month, quarter or year: from must be its first day and to its last "
                "day (e.g. from=2026-01-01&to=2026-03-31); other windows could be differenced",
            )
        after = matching[0]
        if not self.closed(after):
            raise InvalidWindow(
                "to", f"this period is not published yet: figures appear {self.lag_days} day(s) after it ends"
            )
        return datetime.combine(start, time.min, LOCAL), datetime.combine(after, time.min, LOCAL)
