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


def test_a_suppressed_point_of_a_trend_is_marked_as_such_not_drawn_as_zero() -> None:
    from services.reporting.dashboard import Point, Series, line_chart

    svg = line_chart(
        "shares",
        [Series("aangifte", "#000", (Point(2022, 7.0), Point(2023, None), Point(2024, 9.5)))],
        [2022, 2023, 2024],
    )
    assert 'data-suppressed="true" data-series="aangifte" data-x="2023"' in svg
    assert 'data-x="2023" data-value' not in svg
    assert "niet getoond" in svg


def test_the_monitor_comparison_draws_the_waves_and_the_note() -> None:
    from services.reporting.dashboard import monitor_comparison
    from services.reporting.monitor import load_monitor
    from shared.contracts.events import ReportCell

    year = ReportCell(dims={"year": "2024"}, incidents=50, affected_office_holders=45, share_affected=0.004)
    hidden = ReportCell(
        dims={"year": "2024", "role": "burgemeester"}, incidents=None, affected_office_holders=None, suppressed=True
    )
    html = monitor_comparison({"year": [year], "year_role": [hidden]}, load_monitor())
    assert 'data-series="Wethouders" data-x="2022" data-value="67"' in html
    assert 'data-series="Alle ambtsdragers" data-x="2024" data-value="0.4"' in html
    assert 'data-suppressed="true" data-series="Burgemeesters" data-x="2024"' in html
    assert "verschillende dingen" in html
