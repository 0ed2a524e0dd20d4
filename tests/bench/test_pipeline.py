"""The bench's synthetic feed: a routine backlog is routine all through the pipeline when asked."""

from __future__ import annotations

from bench.pipeline import _rated_acute, routine_records
from shared.contracts.envelope import parse_value
from shared.contracts.events import IncidentReported


def _events(below_high: bool) -> list[IncidentReported]:
    records = routine_records(300, "benchtest", seed=3, below_high=below_high)
    return [parse_value(IncidentReported, r.value, r.headers) for r in records]


def test_the_feed_as_it_comes_has_reports_triage_sends_down_the_acute_lane() -> None:
    rated = [_rated_acute(e) for e in _events(below_high=False)]
    assert 0.1 < sum(rated) / len(rated) < 0.5


def test_a_backlog_below_high_holds_only_reports_triage_rates_routine_and_as_many_as_asked() -> None:
    events = _events(below_high=True)
    assert len(events) == 300
    assert len({e.case_id for e in events}) == 300
    assert not any(_rated_acute(e) for e in events)
