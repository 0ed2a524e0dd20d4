"""The dashboard's charts: drawn from any cells, including ones whose every value is zero."""

from __future__ import annotations

from services.reporting.dashboard import Bar, horizontal_chart, vertical_chart


def test_response_times_that_all_round_to_zero_minutes_still_draw() -> None:
    # notifications sent within seconds of the report: every p50 and p90 is 0.0 minutes
    rows = [[Bar("hoog", 0.0, "0 min"), Bar("hoog", 0.0, "0 min")], [Bar("laag", 0.0, "0 min"), Bar("laag", None, "-")]]
    svg = horizontal_chart("response", rows, series=("p50", "p90"))
    assert 'data-chart="response"' in svg
    assert 'data-value="0"' in svg


def test_a_chart_of_zeros_and_suppressed_cells_draws() -> None:
    svg = vertical_chart("trend", [Bar("2026-01", 0.0, "0"), Bar("2026-02", None, "<5")])
    assert 'data-suppressed="true"' in svg
