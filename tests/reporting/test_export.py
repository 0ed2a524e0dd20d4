"""The CSV export: cells a spreadsheet would read as a formula are escaped, whatever the vocabulary."""

from __future__ import annotations

import csv
import io

import pytest

from services.reporting.export import as_csv, spreadsheet_safe
from shared.contracts.events import ReportCell


@pytest.mark.parametrize("dangerous", ["=1+1", "+31 6", "-2", "@SUM(A1)", "\tx", "\rx", '=HYPERLINK("http://x")'])
def test_a_cell_a_spreadsheet_would_evaluate_gets_an_apostrophe(dangerous: str) -> None:
    assert spreadsheet_safe(dangerous) == "'" + dangerous


@pytest.mark.parametrize("harmless", ["raadslid", "2026-Q1", "n.v.t.", "", "a=b", "0.25"])
def test_harmless_cells_stay_as_they_are(harmless: str) -> None:
    assert spreadsheet_safe(harmless) == harmless


def test_the_export_escapes_dimension_values_and_keeps_numbers() -> None:
    cells = [
        ReportCell(dims={"platform": "=cmd|' /C calc'!A0"}, incidents=10, affected_office_holders=5),
        ReportCell(dims={"platform": "@evil"}, incidents=None, affected_office_holders=None, suppressed=True),
        ReportCell(dims={"platform": "x"}, incidents=15, affected_office_holders=10, share_affected=0.25),
    ]
    rows = list(csv.reader(io.StringIO(as_csv(cells, ("platform",)))))
    assert rows[0][:4] == ["platform", "incidents", "affected_office_holders", "suppressed"]
    assert [r[0] for r in rows[1:]] == ["'=cmd|' /C calc'!A0", "'@evil", "x"]
    assert rows[1][1:4] == ["10", "5", "false"]
    assert rows[2][1:4] == ["", "", "true"]
    assert rows[3][4] == "0.25"
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for cell in row)
