"""Notify's case aggregate: which erasures reach the copy it keeps."""

from __future__ import annotations

from services.notify.model import CaseNotifications


def test_an_erasure_of_another_filers_report_leaves_the_copy_and_one_of_its_own_report_drops_it() -> None:
    kept = CaseNotifications(case_id="c", report_id="r-1")
    assert not kept.holds_any(("r-2",)), "another filer withdrew its report: the notifications stay"
    assert kept.holds_any(("r-1", "r-2"))
    assert kept.holds_any(()), "the whole case"
    assert CaseNotifications(case_id="c").holds_any(("r-2",)), "a copy of unknown origin is erased, not kept"
