"""What ``GET /v1/cases/{id}`` shows of a case: the caller's view (``shared/need_to_know.py`` decides which)."""

from __future__ import annotations

from typing import Any

from services.intake.codec import CaseCodec, report_facts, timeline_entry
from services.intake.domain import Case
from services.intake.values import TimelineEntry
from shared.need_to_know import View
from shared.policy import CaseAccess

_INTERNAL = ("filed_by_subs", "filed_by_orgs", "timeline_chunks")


GUIDANCE = {
    "received": "Uw melding is ontvangen en wordt beoordeeld.",
    "triaged": "Uw melding is beoordeeld; de betrokken instanties worden geïnformeerd.",
    "notified": "De betrokken instanties zijn geïnformeerd en nemen zo nodig contact met u op.",
    "in_follow_up": "Politie of OM heeft de opvolging gemeld; zij houden u op de hoogte.",
    "closed": "De zaak is afgesloten. Bel het OTWB (24/7) als er opnieuw iets gebeurt.",
}
"""What a filer is told at each status of its case (the same for every filer: it reveals nothing of the case)."""


def case_view(view: View, case: Case, timeline: list[TimelineEntry], codec: CaseCodec, *, sub: str) -> dict[str, Any]:
    """The case as ``view`` shows it to the caller ``sub``."""
    if view is View.FILER:
        return filer_view(case, codec, sub=sub)
    return {**case_file(case, timeline, codec), "view": view.value}


def filer_view(case: Case, codec: CaseCodec, *, sub: str) -> dict[str, Any]:
    """A filer's own reports (as filed), the status and guidance: nothing of other filers, reports or the routing."""
    reports = []
    for entry in case.filed_by(sub):
        report = codec.open_report(case.case_id, entry.content)
        reports.append({**report_facts(entry), "report": report, "erased": report is None})
    return {
        "case_id": case.case_id,
        "view": View.FILER.value,
        "status": case.status.value,
        "guidance": GUIDANCE[case.status.value],
        "reports": reports,
    }


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


def case_access(case: Case) -> CaseAccess:
    """The non-personal facts of a case that the policy decides on."""
    return CaseAccess(
        filed_by_subs=case.filed_by_subs,
        filed_by_orgs=case.filed_by_orgs,
        routes=[route.recipient.value for route in (case.risk.routes if case.risk else ())],
        body_code=case.body_code,
    )
