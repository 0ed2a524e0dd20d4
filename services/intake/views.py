"""What ``GET /v1/cases/{id}`` shows of a case: the caller's view (``shared/web/need_to_know.py`` decides which)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from services.intake.codec import CaseCodec, report_facts, timeline_entry
from services.intake.domain import Case
from services.intake.guidance import for_reporter
from services.intake.values import TimelineEntry
from shared.contracts import prefill, projections
from shared.contracts.incident import IncidentReport
from shared.contracts.projections import CONTENT_FIELDS, Assessed
from shared.web.need_to_know import CASE_FIELDS, View
from shared.web.policy import CaseAccess

T = TypeVar("T")
_INTERNAL = ("filed_by_subs", "filed_by_orgs", "timeline_chunks")


def case_view(
    view: View,
    case: Case,
    timeline: list[TimelineEntry],
    codec: CaseCodec,
    *,
    sub: str,
    org: str | None = None,
    holder_ref: Callable[[IncidentReport], str],
) -> dict[str, Any]:
    """The case as ``view`` shows it to the caller ``sub`` of ``org`` (``holder_ref``: the holder's pseudonym)."""
    if view is View.FILER:
        return filer_view(case, codec, sub=sub, org=org)
    if view is View.FULL:
        return {**case_file(case, timeline, codec), "view": view.value}
    return routed_view(view, case, codec, holder_ref=holder_ref)


def routed_view(
    view: View, case: Case, codec: CaseCodec, *, holder_ref: Callable[[IncidentReport], str]
) -> dict[str, Any]:
    """A routed role's view: the case's state for that recipient, each report through its notification contract."""
    recipient, risk = view.recipient, case.risk
    if recipient is None or risk is None:  # need_to_know gives a routed view only of a routed case
        raise ValueError(f"no routed view {view.value} of case {case.case_id}")
    reasons = tuple(route.reason for route in risk.routes if route.recipient is recipient)
    delivery = case.notifications.get(recipient)
    base = {
        "case_id": case.case_id,
        "notification_id": delivery.notification_id if delivery else "",
        "recipient": recipient,
        "level": risk.level,
        "reasons": reasons,
        "policy_version": risk.policy_version,
    }
    reports: list[dict[str, Any]] = []
    for entry in case.reports:
        opened = codec.open_report(case.case_id, entry.content)
        keys = {"report_id": entry.report_id, "received_at": entry.received_at, "erased": opened is None}
        if opened is None:
            reports.append(keys)
            continue
        report = IncidentReport.model_validate(opened)
        assessed = Assessed(risk.factors, holder_ref(report), entry.received_at)
        shown = projections.notification(recipient, report, assessed, base)
        reports.append({**keys, **shown.model_dump(mode="json", include=set(CONTENT_FIELDS[recipient]))})
    state = codec.state(case)
    body: dict[str, Any] = {
        "case_id": case.case_id,
        "view": view.value,
        "status": case.status.value,
        "level": risk.level.value,
        "policy_version": risk.policy_version,
        "reasons": list(reasons),
        "notification": state["notifications"].get(recipient.value),
        "reports": reports,
        "followups": state["followups"],
        "links": state["links"],
        **work_of(case, codec, state),
    }
    return {k: v for k, v in body.items() if k in CASE_FIELDS[view]}


def filer_view(case: Case, codec: CaseCodec, *, sub: str, org: str | None = None) -> dict[str, Any]:
    """A filer's own reports (as filed, each with its modelaangifte when an aangifte is wanted), the stage of the
    case, what happens next and the help that fits it (``services/intake/guidance.py``): nothing of other filers'
    reports."""
    reports = []
    for entry in case.filed_by(sub, org):
        report = codec.open_report(case.case_id, entry.content)
        shown = {**report_facts(entry), "report": report, "erased": report is None}
        if report is not None and entry.facts.wants_aangifte:
            filed = IncidentReport.model_validate(report)
            shown["modelaangifte"] = prefill.build(filed, reported_at=entry.received_at).model_dump(mode="json")
        reports.append(shown)
    return {
        "case_id": case.case_id,
        "view": View.FILER.value,
        "status": case.status.value,
        "guidance": for_reporter(case),
        "reports": reports,
    }


def case_file(case: Case, timeline: list[TimelineEntry], codec: CaseCodec) -> dict[str, Any]:
    """The case file of an opened case with its whole ``timeline``; who filed it stays out."""
    state = {k: v for k, v in codec.state(case).items() if k not in _INTERNAL}
    reports = []
    for entry in case.reports:
        report = codec.open_report(case.case_id, entry.content)
        reports.append({**report_facts(entry), "report": report, "erased": report is None})
    texts = work_of(case, codec, state)
    return {
        "case_id": case.case_id,
        **state,
        **texts,
        "timeline": [timeline_entry(e) for e in timeline],
        "reports": reports,
        "version": case.version,
    }


def case_access(case: Case) -> CaseAccess:
    """The non-personal facts of a case that the policy decides on."""
    return CaseAccess(
        filed_by_subs=case.filed_by_subs,
        filed_by_orgs=case.filed_by_orgs,
        filers=list(
            dict.fromkeys((e.filed_by.sub, e.filed_by.org) for e in case.reports if e.filed_by and e.filed_by.sub)
        ),
        routes=[route.recipient.value for route in (case.risk.routes if case.risk else ())],
        body_code=case.body_code,
        municipality=case.municipality,
    )


def work_of(case: Case, codec: CaseCodec, state: dict[str, Any]) -> dict[str, Any]:
    """The people's work on the case: assignments, notes and decisions with what they wrote, the closure."""
    opened = codec.open_text
    return {
        "assignments": state["assignments"],
        "notes": [{**n, "text": opened(case.case_id, note.text)} for n, note in _pairs(state["notes"], case.notes)],
        "decisions": [
            {**d, "reason": opened(case.case_id, decision.reason)}
            for d, decision in _pairs(state["decisions"], case.decisions)
        ],
        "recommended_level": None if case.recommendation is None else case.recommendation.level.value,
        "closure": None
        if case.closure is None
        else {**state["closure"], "reason": opened(case.case_id, case.closure.reason)},
    }


def _pairs(shown: list[Any], held: list[T]) -> list[tuple[Any, T]]:
    return list(zip(shown, held, strict=True))
