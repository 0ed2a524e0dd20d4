"""Disclosure control and dimensions of the reports."""

from __future__ import annotations

import pytest

from services.reporting import domain
from services.reporting.errors import UnknownDimension


def test_cells_under_the_threshold_show_no_counts() -> None:
    cells = domain.suppress(
        [domain.RawCell({"role": "raadslid"}, 12, 9), domain.RawCell({"role": "burgemeester"}, 2, 1)], threshold=5
    )
    by_role = {c.dims["role"]: c for c in cells}
    assert by_role["raadslid"].incidents == 12
    assert by_role["raadslid"].affected_office_holders == 9
    assert by_role["burgemeester"].suppressed
    assert by_role["burgemeester"].incidents is None
    assert by_role["burgemeester"].affected_office_holders is None


def test_few_people_behind_many_incidents_is_still_suppressed() -> None:
    (cell,) = domain.suppress([domain.RawCell({"role": "burgemeester"}, 30, 1)], threshold=5)
    assert cell.suppressed


def test_unknown_dimension_is_refused() -> None:
    with pytest.raises(UnknownDimension, match="municipality"):
        domain.parse_group_by("role,municipality")


def test_group_by_keeps_order_and_drops_repeats() -> None:
    assert domain.parse_group_by("role, gender,role") == ("role", "gender")


def test_cell_keys_do_not_depend_on_dimension_order() -> None:
    assert domain.cell_key({"role": "a", "gender": "b"}) == domain.cell_key({"gender": "b", "role": "a"})
