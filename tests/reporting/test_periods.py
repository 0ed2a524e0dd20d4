"""Publication periods: council terms, which periods are closed, and which windows are publication periods."""

from __future__ import annotations

from datetime import date

import pytest

from services.reporting.periods import Calendar, InvalidWindow, council_term, period_bounds


@pytest.mark.parametrize(
    ("day", "term"),
    [
        (date(2022, 3, 15), "2018-2022"),
        (date(2022, 3, 16), "2022-2026"),  # election day opens the term
        (date(2026, 3, 17), "2022-2026"),
        (date(2026, 3, 18), "2026-2030"),
        (date(2014, 3, 19), "2014-2018"),
        (date(1950, 3, 1), "1946-1950"),
    ],
)
def test_council_terms_run_from_election_day_to_election_day(day: date, term: str) -> None:
    assert council_term(day) == term


def test_period_values_have_their_bounds() -> None:
    assert period_bounds("period", "2026-12") == (date(2026, 12, 1), date(2027, 1, 1))
    assert period_bounds("quarter", "2026-Q2") == (date(2026, 4, 1), date(2026, 7, 1))
    assert period_bounds("year", "2025") == (date(2025, 1, 1), date(2026, 1, 1))
    assert period_bounds("council_term", "2022-2026") == (date(2022, 3, 16), date(2026, 3, 18))
    assert period_bounds("period", "nonsense") is None


CALENDAR = Calendar(today=date(2026, 12, 3), lag_days=7)


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (date(2026, 1, 1), date(2026, 1, 31)),
        (date(2026, 2, 1), date(2026, 2, 28)),
        (date(2026, 7, 1), date(2026, 9, 30)),
        (date(2025, 1, 1), date(2025, 12, 31)),
        (date(2026, 10, 1), date(2026, 10, 31)),
    ],
)
def test_a_whole_closed_month_quarter_or_year_is_a_window(start: date, end: date) -> None:
    low, high = CALENDAR.window(start, end)
    assert low is not None
    assert high is not None
    assert low.date() == start


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        (date(2026, 1, 1), date(2026, 2, 28), "to"),  # two months: could be differenced against three
        (date(2026, 1, 15), date(2026, 2, 14), "to"),
        (date(2026, 2, 1), date(2026, 4, 30), "to"),  # three months that are no quarter
        (date(2026, 1, 1), None, "to"),
        (None, date(2026, 1, 31), "from"),
        (date(2026, 11, 1), date(2026, 11, 30), "to"),  # ended, but within the lag
        (date(2026, 1, 1), date(2026, 12, 31), "to"),  # the year is open
    ],
)
def test_any_other_window_is_refused_naming_the_field(start: date | None, end: date | None, field: str) -> None:
    with pytest.raises(InvalidWindow) as refused:
        CALENDAR.window(start, end)
    assert refused.value.field == field


def test_no_window_is_every_published_period() -> None:
    assert CALENDAR.window(None, None) == (None, None)


def test_a_cell_is_closed_when_every_period_it_names_is() -> None:
    assert CALENDAR.cell_closed({"year": "2025", "role": "raadslid"})
    assert not CALENDAR.cell_closed({"year": "2026"})
    assert not CALENDAR.cell_closed({"quarter": "2026-Q4"})
    assert CALENDAR.cell_closed({"council_term": "2022-2026"})
    assert not CALENDAR.cell_closed({"council_term": "2026-2030"})
    assert CALENDAR.cell_closed({"role": "raadslid"})
