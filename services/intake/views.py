"""What ``GET /v1/cases/{id}`` shows of a case: the case file as stored in clear, the reports opened."""

from __future__ import annotations

from typing import Any

from services.intake.codec import CaseCodec, report_facts, timeline_entry
from services.intake.domain import Case
from services.intake.values import TimelineEntry

_INTERNAL = ("filed_by_subs", "filed_by_orgs", "timeline_chunks")


def case_file(case: Case, timeline: list[TimelineEntry], codec: CaseCodec) -> dict[str, Any]:
    """The case file of an opened case with its whole ``timeline``; who filed it stays out."""
    state = {k: v for k, v in codec.state(case).items() if k not in _INTERNAL}
    reports = []
    for entry in case.reports:
        report = codec.open_report(case.case_id, entry.content)
        reports.append({**report_facts(entry), "report": report, "erased": report is None})
    return {
        "case_id": case.case_id,
        **state,
        "timeline": [timeline_entry(e) for e in timeline],
        "reports": reports,
        "version": case.version,
    }
