"""Cell-key random rounding and the consistent method: one value per cell, whatever table or query shows it."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime

from services.reporting import domain, queries
from services.reporting.disclosure import Method, RawCell, Rounding
from services.reporting.domain import Disclosure
from services.reporting.facts import Fact

ROUNDING = Rounding(b"test-key", base=5)


def test_rounding_is_to_a_neighbouring_multiple_of_the_base() -> None:
    for n in range(0, 60):
        value = ROUNDING.round(n, "incidents", [f"case-{n}"])
        assert value % 5 == 0
        assert abs(value - n) < 5
    assert ROUNDING.round(35, "incidents", ["a"]) == 35  # a multiple stays as it is


def test_the_same_contributors_give_the_same_value_whatever_their_order() -> None:
    ids = [f"case-{i}" for i in range(13)]
    first = ROUNDING.round(13, "incidents", ids)
    assert all(ROUNDING.round(13, "incidents", random.sample(ids, len(ids))) == first for _ in range(20))


def test_rounding_is_unbiased_over_many_cells() -> None:
    # n = 3: rounded up to 5 in 3 of 5 cells, down to 0 in the others; the mean stays 3.
    values = [ROUNDING.round(3, "incidents", [f"cell-{i}", "x", "y"]) for i in range(4000)]
    assert abs(sum(values) / len(values) - 3) < 0.15


def test_another_key_rounds_differently() -> None:
    other = Rounding(b"another-key", base=5)
    cells = [[f"c{i}", f"d{i}"] for i in range(200)]
    assert [ROUNDING.round(7, "incidents", c) for c in cells] != [other.round(7, "incidents", c) for c in cells]


def test_base_one_publishes_exact_counts() -> None:
    assert Rounding(b"k", base=1).round(7, "incidents", ["a"]) == 7


def _fact(case_id: str, month: int, channel: str, ref: str) -> Fact:
    occurred = datetime(2010, month, 5, 12, tzinfo=UTC)
    dims = {
        "period": f"2010-{month:02d}",
        "quarter": f"2010-Q{(month - 1) // 3 + 1}",
        "year": "2010",
        "channel": channel,
        "channel_group": "online" if channel == "online" else "offline",
    }
    return Fact(case_id, ref, occurred, dims, ("threat",), None, None)


CONSISTENT = Disclosure(threshold=5, rounding=ROUNDING, method=Method.CONSISTENT)
NOW = datetime(2026, 12, 3, tzinfo=UTC)


def test_a_cell_that_equals_its_margin_is_published_with_the_margins_value() -> None:
    # Every online case of the year lies in Q1: (year, online) and (quarter Q1, online) hold the same cases.
    facts = [_fact(f"c{i}", 1 + i % 3, "online", f"r{i}") for i in range(13)]
    facts += [_fact(f"o{i}", 4 + i % 6, "phone", f"s{i}") for i in range(9)]
    by_year = queries.tabulate(facts, ("year", "channel_group"), disclosure=CONSISTENT, population=None, now=NOW)
    by_quarter = queries.tabulate(facts, ("quarter", "channel_group"), disclosure=CONSISTENT, population=None, now=NOW)
    online_year = next(c for c in by_year if c.dims["channel_group"] == "online")
    online_q1 = next(c for c in by_quarter if c.dims == {"quarter": "2010-Q1", "channel_group": "online"})
    assert online_year.incidents == online_q1.incidents


def test_small_cells_are_suppressed_and_no_partner_is_needed() -> None:
    cells = [RawCell({"c": "a"}, 50, 50, cases=frozenset({"x"})), RawCell({"c": "b"}, 3, 3)]
    shown = domain.report(cells, threshold=5, rounding=ROUNDING)
    assert [c.suppressed for c in shown] == [False, True]
    assert shown[1].incidents is None


def test_open_months_and_open_periods_are_left_out() -> None:
    facts = [_fact(f"c{i}", m, "online", f"r{i}") for i, m in enumerate(itertools.repeat(11, 8))]
    november = datetime(2010, 11, 20, tzinfo=UTC)
    lagging = Disclosure(threshold=5, rounding=ROUNDING, lag_days=7)
    assert queries.tabulate(facts, ("period",), disclosure=lagging, population=None, now=november) == []
    assert (
        queries.tabulate(facts, ("year",), disclosure=lagging, population=None, now=datetime(2010, 12, 5, tzinfo=UTC))
        == []
    )
    shown = queries.tabulate(
        facts, ("period",), disclosure=lagging, population=None, now=datetime(2010, 12, 8, tzinfo=UTC)
    )
    assert [c.dims["period"] for c in shown] == ["2010-11"]


def test_the_old_method_publishes_exact_counts_of_open_periods() -> None:
    facts = [_fact(f"c{i}", 11, "online", f"r{i}") for i in range(8)]
    old = Disclosure(threshold=5, rounding=ROUNDING, method=Method.PER_TABLE)
    (cell,) = queries.tabulate(
        facts, ("period",), disclosure=old, population=None, now=datetime(2010, 11, 20, tzinfo=UTC)
    )
    assert cell.incidents == 8
