"""The in-process filter decisions agree with MongoDB's rules for the operators the stores use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.store.docmatch import Unsupported, matches

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
DOC = {
    "_id": "c1",
    "version": 3,
    "acknowledged": False,
    "resend_no": 0,
    "webhook": {"state": "pending", "attempt": 2},
    "triaged_at": NOW,
    "tags": ["a", "b"],
    "empty": None,
}


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ({"version": 3}, True),
        ({"version": 2}, False),
        ({"version": 3.0}, True),
        ({"acknowledged": {"$ne": True}}, True),
        ({"missing": {"$ne": True}}, True),
        ({"missing": {"$exists": False}}, True),
        ({"version": {"$exists": False}}, False),
        ({"missing": None}, True),
        ({"empty": None}, True),
        ({"webhook.state": "pending", "webhook.attempt": 2}, True),
        ({"webhook.attempt": 3}, False),
        ({"triaged_at": {"$lt": NOW + timedelta(seconds=1)}}, True),
        ({"triaged_at": {"$lt": NOW}}, False),
        ({"missing": {"$lt": 5}}, False),
        ({"version": {"$lt": "9"}}, False),
        ({"tags": "a"}, True),
        ({"tags": "z"}, False),
        ({"version": {"$in": [1, 3]}}, True),
        ({"version": {"$nin": [1, 3]}}, False),
        ({"$or": [{"missing": {"$exists": True}}, {"version": {"$lt": 4}}]}, True),
        ({"$or": [{"missing": {"$exists": True}}, {"version": 3, "triaged_at": {"$lt": NOW}}]}, False),
        ({"$and": [{"version": 3}, {"resend_no": 0}]}, True),
        ({"resend_no": False}, False),
        ({"acknowledged": 0}, False),
    ],
)
def test_a_filter_matches_as_mongodb_would_decide(selector: dict[str, object], expected: bool) -> None:
    assert matches(DOC, selector) is expected


@pytest.mark.parametrize(
    "selector",
    [
        {"version": {"$regex": "3"}},
        {"$where": "true"},
        {"webhook": {"state": "pending", "attempt": 2}},
        {"tags.0": "a"},
        {"triaged_at": {"$lt": NOW.replace(tzinfo=None)}},
    ],
)
def test_what_it_cannot_decide_is_left_to_the_store(selector: dict[str, object]) -> None:
    with pytest.raises(Unsupported):
        matches({**DOC, "tags": [{"x": 1}]}, selector)
