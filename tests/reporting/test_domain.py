"""Disclosure control and dimensions of the reports."""

from __future__ import annotations

import itertools
import random

import pytest

from services.reporting import domain
from services.reporting.disclosure import RawCell, protect
from services.reporting.errors import RefusedDimension, UnknownDimension
from services.reporting.population import Population


def cell(incidents: int, affected: int | None = None, **dims: str) -> RawCell:
    return RawCell(dims, incidents, incidents if affected is None else affected)


def test_cells_under_the_threshold_show_no_counts() -> None:
    cells = domain.suppress(
        [cell(12, 9, role="raadslid"), cell(2, 1, role="burgemeester"), cell(3, 3, role="wethouder")], threshold=5
    )
    by_role = {c.dims["role"]: c for c in cells}
    assert by_role["raadslid"].incidents == 12
    assert by_role["raadslid"].affected_office_holders == 9
    assert by_role["burgemeester"].suppressed
    assert by_role["burgemeester"].incidents is None
    assert by_role["burgemeester"].affected_office_holders is None


def test_few_people_behind_many_incidents_is_still_suppressed() -> None:
    (only,) = domain.suppress([cell(30, 1, role="burgemeester")], threshold=5)
    assert only.suppressed


def test_a_lone_small_cell_takes_the_next_smallest_with_it() -> None:
    # Asking group_by=role gives the margin 50+20+3; without a second hidden cell 3 = 73 - 50 - 20.
    cells = domain.suppress(
        [cell(50, role="raadslid"), cell(20, role="wethouder"), cell(3, role="burgemeester")], threshold=5
    )
    hidden = {c.dims["role"] for c in cells if c.suppressed}
    assert hidden == {"burgemeester", "wethouder"}


def test_secondary_suppression_spreads_across_both_dimensions() -> None:
    table = [
        cell(40, role="raadslid", gender="vrouw"),
        cell(60, role="raadslid", gender="man"),
        cell(2, role="burgemeester", gender="vrouw"),
        cell(9, role="burgemeester", gender="man"),
        cell(7, role="wethouder", gender="vrouw"),
        cell(30, role="wethouder", gender="man"),
    ]
    hidden = protect(table, threshold=5)
    for dimension in ("role", "gender"):
        lines: dict[tuple[str, ...], list[int]] = {}
        for i, c in enumerate(table):
            lines.setdefault(tuple(v for k, v in sorted(c.dims.items()) if k != dimension), []).append(i)
        for line in lines.values():
            assert len([i for i in line if i in hidden]) != 1, (dimension, line, hidden)
    assert 2 in hidden  # the small one itself


@pytest.mark.parametrize("seed", range(40))
def test_no_hidden_value_can_be_recovered_from_a_margin_in_random_tables(seed: int) -> None:
    rng = random.Random(seed)
    roles = ["raadslid", "wethouder", "burgemeester", "statenlid"][: rng.randint(1, 4)]
    genders = ["vrouw", "man", "onbekend"][: rng.randint(1, 3)]
    channels = ["online", "offline"][: rng.randint(1, 2)]
    table = [
        cell(rng.choice([1, 2, 3, 4, 5, 6, 8, 12, 30]), role=r, gender=g, channel_group=c)
        for r, g, c in itertools.product(roles, genders, channels)
        if rng.random() > 0.15
    ]
    hidden = protect(table, threshold=5)
    assert all(i in hidden for i, c in enumerate(table) if c.incidents < 5)
    for dimension in ("role", "gender", "channel_group"):
        lines: dict[tuple[str, ...], list[int]] = {}
        for i, c in enumerate(table):
            lines.setdefault(tuple(v for k, v in sorted(c.dims.items()) if k != dimension), []).append(i)
        for line in lines.values():
            # Exactly one hidden cell in a line would equal margin minus the shown cells.
            if len(line) > 1:
                assert len([i for i in line if i in hidden]) != 1


def test_a_partner_that_equals_a_margin_is_avoided() -> None:
    # statenlid/man is alone in its gender line: hiding it would be undone by group_by=role.
    table = [
        cell(3, role="raadslid", gender="vrouw"),
        cell(40, role="raadslid", gender="man"),
        cell(6, role="statenlid", gender="man"),
        cell(20, role="wethouder", gender="vrouw"),
        cell(8, role="wethouder", gender="man"),
    ]
    hidden = protect(table, threshold=5)
    assert 2 not in hidden
    assert {0, 1, 3, 4} <= hidden


def test_municipality_is_refused_and_never_crossed_with_role() -> None:
    with pytest.raises(RefusedDimension, match="municipality"):
        domain.parse_group_by("role,municipality")
    with pytest.raises(RefusedDimension):
        domain.parse_group_by("body_code")


def test_unknown_dimension_is_refused() -> None:
    with pytest.raises(UnknownDimension, match="colour"):
        domain.parse_group_by("role,colour")


def test_group_by_keeps_order_and_drops_repeats() -> None:
    assert domain.parse_group_by("role, gender,role") == ("role", "gender")


def test_cell_keys_do_not_depend_on_dimension_order() -> None:
    assert domain.cell_key({"role": "a", "gender": "b"}) == domain.cell_key({"gender": "b", "role": "a"})


def test_share_affected_uses_the_population_of_the_cells_role_and_gender() -> None:
    population = Population({"raadslid": {"total": 100, "vrouw": 40, "man": 60}, "burgemeester": {"total": 10}})
    cells = domain.report(
        [cell(20, 10, role="raadslid", gender="vrouw"), cell(30, 12, role="raadslid", gender="man")],
        threshold=5,
        population=population,
    )
    assert [c.share_affected for c in cells] == [0.25, 0.2]
    (by_role,) = domain.report([cell(20, 10, role="burgemeester", gender="vrouw")], threshold=5, population=population)
    assert by_role.share_affected is None  # no gender split known for burgemeesters here


def test_response_time_percentiles_interpolate_between_ranks() -> None:
    assert domain.percentile([10, 20, 30, 40], 0.5) == 25
    assert domain.percentile([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 0.9) == 91


def test_windows_widen_to_whole_months() -> None:
    from datetime import date

    low, high = domain.window(date(2024, 3, 17), date(2024, 12, 2))
    assert low is not None
    assert high is not None
    assert (low.year, low.month, low.day) == (2024, 3, 1)
    assert (high.year, high.month, high.day) == (2025, 1, 1)


def test_support_and_protection_are_counted_without_who_what_or_until() -> None:
    from services.reporting.facts import FactSheet
    from shared.contracts.events import CaseFollowup, FollowupKind, MeasureAuthority
    from tests.intake.events import triaged

    sheet = FactSheet("case-support")
    sheet.take(triaged("case-support"))
    assert sheet.take(CaseFollowup(case_id="case-support", kind=FollowupKind.CCV_SCAN_REQUESTED, organisation="OTWB"))
    measure = CaseFollowup(
        case_id="case-support",
        kind=FollowupKind.PROTECTIVE_MEASURE,
        organisation="Politie",
        authority=MeasureAuthority.NCTV,
        measure="beveiliging woning",
    )
    assert sheet.take(measure)
    assert not sheet.take(measure), "the same follow-up again changes nothing"
    fact = sheet.fact()
    assert fact is not None
    dims = {k: fact.dims[k] for k in ("otwb_aftercare", "ccv_scan", "protective_measure", "followup_outcome")}
    assert dims == {
        "otwb_aftercare": "nee",
        "ccv_scan": "aangevraagd",
        "protective_measure": "ja",
        "followup_outcome": "geen",
    }
