"""The monitor's reference figures: every series has its source and question, and the waves of the domain brief."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.reporting.monitor import InvalidMonitor, load_monitor


def test_every_series_names_its_source_and_question() -> None:
    monitor = load_monitor()
    assert monitor.series
    for series in monitor.series:
        assert series.source
        assert series.question
        assert series.points


def test_the_waves_are_the_published_ones() -> None:
    affected = load_monitor().get("affected")
    assert affected is not None
    assert [(p.year, p.percent) for p in affected.of("alle")] == [
        (2014, 23),
        (2018, 29),
        (2020, 35),
        (2022, 49),
        (2024, 45),
    ]
    assert [(p.year, p.percent) for p in affected.of("burgemeester")] == [(2018, 43), (2020, 50), (2022, 77)]
    assert [p.approx for p in affected.of("raadslid")] == [True, False, False, False, True]


def test_a_broken_table_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "monitor.yaml"
    path.write_text(
        "note: x\nseries: [{id: a, source: s, question: q, points: [{year: 2022, group: alle, percent: 140}]}]\n"
    )
    with pytest.raises(InvalidMonitor):
        load_monitor(path)
