"""The one place that knows how a case is stored: ``Case`` ↔ document, reports sealed for their case."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from services.intake.domain import Case
from services.intake.values import (
    Actor,
    Assignment,
    CaseStatus,
    Closure,
    Delivery,
    Erasure,
    Filer,
    Followup,
    HumanDecision,
    Link,
    Note,
    Outgoing,
    ReportEntry,
    ReportFacts,
    Risk,
    Sealed,
    Text,
    TimelineChunk,
    TimelineEntry,
)
from shared.contracts.envelope import Record
from shared.contracts.events import (
    ErasureReason,
    Factor,
    FollowupKind,
    MeasureAuthority,
    NotificationState,
    ReportSource,
    RiskLevel,
    Route,
)
from shared.contracts.incident import (
    Body,
    Channel,
    Gender,
    IncidentReport,
    IncidentType,
    Indicators,
    ReporterKind,
    Role,
)
from shared.contracts.topics import Recipient
from shared.security.crypto import DataCipher
from shared.security.reseal import SealedField
from shared.store.mongo import Document

ERASED = "erased"
"""What an erased report's sealed content is replaced with."""


SEALED_FIELDS = (SealedField("cases", "reports[].sealed", "intake/case/{id}"),)
"""Where intake keeps sealed values (``weerbaar keys reseal``); the context is :func:`case_context`."""


def case_context(case_id: str) -> str:
    """Associated data of a case's sealed reports: a blob copied to another case does not open."""
    return f"intake/case/{case_id}"


def chunk_id(case_id: str, number: int) -> str:
    return f"{case_id}#timeline-{number}"


class CaseCodec:
    """Maps a case to its document and back; seals a report the first time it is stored."""

    def __init__(self, cipher: DataCipher) -> None:
        self._cipher = cipher

    def open_report(self, case_id: str, content: IncidentReport | Sealed | None) -> dict[str, Any] | None:
        """The report as filed (JSON), or None once erased."""
        if content is None:
            return None
        if isinstance(content, IncidentReport):
            return content.model_dump(mode="json")
        opened: dict[str, Any] = self._cipher.open_json(content.blob, context=case_context(case_id))
        return opened

    def open_text(self, case_id: str, text: Text) -> str:
        """A note or a reason as written."""
        if isinstance(text, str):
            return text
        return str(self._cipher.open_json(text.blob, context=case_context(case_id)))

    def _sealed_text(self, case_id: str, text: Text) -> str:
        return text.blob if isinstance(text, Sealed) else self._cipher.seal_json(text, context=case_context(case_id))

    def _texts(self, case: Case) -> Document:
        """Free text people wrote, sealed for the case, by what it belongs to."""
        texts = {f"note:{n.note_id}": self._sealed_text(case.case_id, n.text) for n in case.notes}
        texts.update({f"decision:{d.decision_no}": self._sealed_text(case.case_id, d.reason) for d in case.decisions})
        if case.closure is not None:
            texts["closure"] = self._sealed_text(case.case_id, case.closure.reason)
        return texts

    def _sealed(self, case_id: str, content: IncidentReport | Sealed | None) -> str:
        if content is None:
            return ERASED
        if isinstance(content, Sealed):
            return content.blob
        return self._cipher.seal_json(content.model_dump(mode="json"), context=case_context(case_id))

    # --- case -----------------------------------------------------------------------------------------------------

    def to_document(self, case: Case) -> Document:
        return {
            **self.state(case),
            "reports": [self._report(case.case_id, entry) for entry in case.reports],
            "seen": list(case.applied),
            "outbox": [_outgoing(o) for o in case.outbox],
            "texts": self._texts(case),
        }

    @staticmethod
    def state(case: Case) -> Document:
        """What the case file says in clear (no reports, no bookkeeping): stored as it is, and shown as it is."""
        document: Document = {
            "status": case.status.value,
            "created_at": case.created_at,
            "updated_at": case.updated_at,
            "body_code": case.body_code,
            "municipality": case.municipality,
            "filed_by_subs": list(case.filed_by_subs),
            "filed_by_orgs": list(case.filed_by_orgs),
            "risk": None if case.risk is None else _risk(case.risk),
            "recommendation": None if case.recommendation is None else _risk(case.recommendation),
            "notifications": {r.value: _delivery(d) for r, d in case.notifications.items()},
            "followups": [_followup(f) for f in case.followups],
            "links": [{"case_id": link.case_id, "reason": link.reason} for link in case.links],
            "assignments": {p.value: _assignment(a) for p, a in case.assignments.items()},
            "notes": [{"note_id": n.note_id, "by": _actor(n.by), "at": n.at} for n in case.notes],
            "decisions": [_decision(d) for d in case.decisions],
            "closure": None if case.closure is None else _closure(case.closure),
            "closed_at": None if case.closure is None else case.closure.at,
            "stage_times": dict(case.stage_times),
            "told_stage": case.told_stage,
            "timeline": [timeline_entry(e) for e in case.timeline],
            "timeline_chunks": case.timeline_chunks,
        }
        if case.erased is not None:
            document["erased"] = {"at": case.erased.at, "reason": case.erased.reason.value}
        return document

    def from_document(self, document: Document) -> Case:
        risk = document.get("risk")
        recommendation = document.get("recommendation")
        erased = document.get("erased")
        texts: dict[str, str] = dict(document.get("texts") or {})
        closure = document.get("closure")
        return Case(
            case_id=str(document["_id"]),
            status=CaseStatus(document["status"]),
            created_at=document.get("created_at"),
            updated_at=document.get("updated_at"),
            body_code=document.get("body_code"),
            # cases stored before the field: a gemeente's burgemeester is the body's own
            municipality=document.get("municipality", _gemeente(document.get("body_code"))),
            filed_by_subs=list(document.get("filed_by_subs", [])),
            filed_by_orgs=list(document.get("filed_by_orgs", [])),
            reports=[_report_entry(r) for r in document.get("reports", [])],
            risk=None if not risk else _risk_of(risk),
            recommendation=None if not recommendation else _risk_of(recommendation),
            notifications={Recipient(r): _delivery_of(d) for r, d in document.get("notifications", {}).items()},
            followups=[_followup_of(f) for f in document.get("followups", [])],
            links=[Link(case_id=link["case_id"], reason=link["reason"]) for link in document.get("links", [])],
            assignments={Recipient(p): _assignment_of(p, a) for p, a in (document.get("assignments") or {}).items()},
            notes=[
                Note(n["note_id"], _actor_of(n["by"]), n["at"], Sealed(texts[f"note:{n['note_id']}"]))
                for n in document.get("notes") or []
            ],
            decisions=[_decision_of(d, texts) for d in document.get("decisions") or []],
            closure=None if not closure else _closure_of(closure, texts["closure"]),
            stage_times=dict(document.get("stage_times", {})),
            told_stage=document.get("told_stage"),
            timeline=[timeline_entry_of(e) for e in document.get("timeline", [])],
            timeline_chunks=int(document.get("timeline_chunks", 0)),
            applied=[str(i) for i in document.get("seen", [])],
            outbox=[_outgoing_of(o) for o in document.get("outbox", [])],
            erased=None if not erased else Erasure(at=erased["at"], reason=ErasureReason(erased["reason"])),
            version=int(document.get("version", 0)),
        )

    def _report(self, case_id: str, entry: ReportEntry) -> Document:
        filer = entry.filed_by
        return {
            **report_facts(entry),
            "filed_by": None if filer is None else {"sub": filer.sub, "role": filer.role, "org": filer.org},
            "sealed": self._sealed(case_id, entry.content),
        }


def report_facts(entry: ReportEntry) -> Document:
    """A report's entry without its content and filer: what is stored in clear."""
    return {
        "report_id": entry.report_id,
        "source": entry.source.value,
        "received_at": entry.received_at,
        "facts": _facts(entry.facts),
    }


def _report_entry(document: Document) -> ReportEntry:
    filer = document.get("filed_by")
    sealed = document.get("sealed")
    return ReportEntry(
        report_id=document["report_id"],
        source=ReportSource(document["source"]),
        received_at=document["received_at"],
        filed_by=None if not filer else Filer(sub=filer.get("sub"), role=filer.get("role"), org=filer.get("org")),
        facts=_facts_of(document["facts"]),
        content=None if sealed in (None, ERASED) else Sealed(str(sealed)),
    )


def _facts(facts: ReportFacts) -> Document:
    return {
        "reported_by": facts.reported_by.value,
        "reporting_organisation": facts.reporting_organisation,
        "office_holder_role": facts.office_holder_role.value,
        "body": facts.body.model_dump(mode="json"),
        "gender": facts.gender.value,
        "occurred_at": facts.occurred_at.isoformat(),
        "types": [t.value for t in facts.types],
        "channel": facts.channel.value,
        "perpetrator": facts.perpetrator,
        "indicators": facts.indicators.model_dump(mode="json"),
        "impact_on_functioning": facts.impact_on_functioning,
        "wants_aangifte": facts.wants_aangifte,
        "attachments": facts.attachments,
        "email_updates": facts.email_updates,
    }


def _facts_of(document: Document) -> ReportFacts:
    return ReportFacts(
        reported_by=ReporterKind(document["reported_by"]),
        reporting_organisation=document.get("reporting_organisation"),
        office_holder_role=Role(document["office_holder_role"]),
        body=Body.model_validate(document["body"]),
        gender=Gender(document["gender"]),
        occurred_at=datetime.fromisoformat(document["occurred_at"]),
        types=tuple(IncidentType(t) for t in document["types"]),
        channel=Channel(document["channel"]),
        perpetrator=document["perpetrator"],
        indicators=Indicators.model_validate(document["indicators"]),
        impact_on_functioning=bool(document["impact_on_functioning"]),
        wants_aangifte=bool(document["wants_aangifte"]),
        attachments=int(document["attachments"]),
        email_updates=bool(document.get("email_updates", False)),
    )


def _risk(risk: Risk) -> Document:
    return {
        "assessment_no": risk.assessment_no,
        "level": risk.level.value,
        "score": risk.score,
        "policy_version": risk.policy_version,
        "factors": [f.model_dump(mode="json") for f in risk.factors],
        "routes": [r.model_dump(mode="json") for r in risk.routes],
    }


def _risk_of(document: Document) -> Risk:
    return Risk(
        assessment_no=int(document["assessment_no"]),
        level=RiskLevel(document["level"]),
        score=float(document["score"]),
        policy_version=document["policy_version"],
        factors=tuple(Factor.model_validate(f) for f in document["factors"]),
        routes=tuple(Route.model_validate(r) for r in document["routes"]),
    )


def _delivery(delivery: Delivery) -> Document:
    return {
        "notification_id": delivery.notification_id,
        "status": delivery.status.value,
        "level": delivery.level.value,
        "updated_at": delivery.updated_at,
    }


def _delivery_of(document: Document) -> Delivery:
    return Delivery(
        notification_id=document["notification_id"],
        status=NotificationState(document["status"]),
        level=RiskLevel(document["level"]),
        updated_at=document["updated_at"],
    )


def _followup(followup: Followup) -> Document:
    document: Document = {
        "kind": followup.kind.value,
        "organisation": followup.organisation,
        "outcome": followup.outcome,
        "at": followup.at,
    }
    if followup.authority is not None:  # a protective measure: who ordered what, until when
        document.update(
            authority=followup.authority.value,
            measure=followup.measure,
            until=None if followup.until is None else followup.until.isoformat(),
        )
    return document


def _followup_of(document: Document) -> Followup:
    authority, until = document.get("authority"), document.get("until")
    return Followup(
        kind=FollowupKind(document["kind"]),
        organisation=document["organisation"],
        outcome=document["outcome"],
        at=document["at"],
        authority=None if authority is None else MeasureAuthority(authority),
        measure=document.get("measure"),
        until=None if until is None else date.fromisoformat(until),
    )


def timeline_entry(entry: TimelineEntry) -> Document:
    document: Document = {"at": entry.at, "event": entry.event, "event_id": entry.event_id, "summary": entry.summary}
    if entry.source is not None:
        document["source"] = entry.source
    return document


def timeline_entry_of(document: Document) -> TimelineEntry:
    return TimelineEntry(
        at=document["at"],
        event=document["event"],
        event_id=document["event_id"],
        summary=document["summary"],
        source=document.get("source"),
    )


def chunk_document(case_id: str, chunk: TimelineChunk) -> Document:
    return {
        "_id": chunk_id(case_id, chunk.number),
        "case_id": case_id,
        "entries": [timeline_entry(e) for e in chunk.entries],
    }


def _outgoing(outgoing: Outgoing) -> Document:
    return {"event_id": outgoing.event_id, **outgoing.record.stored()}


def _outgoing_of(document: Document) -> Outgoing:
    return Outgoing(event_id=document["event_id"], record=Record.from_stored(document))


def _gemeente(code: str | None) -> str | None:
    return code if code is not None and code.startswith("GM") else None


def _actor(actor: Actor) -> Document:
    return {"sub": actor.sub, "role": actor.role, "org": actor.org}


def _actor_of(document: Document) -> Actor:
    return Actor(sub=document["sub"], role=document["role"], org=document.get("org"))


def _assignment(assignment: Assignment) -> Document:
    return {"to": assignment.to, "by": _actor(assignment.by), "at": assignment.at}


def _assignment_of(part: str, document: Document) -> Assignment:
    return Assignment(part=Recipient(part), to=document["to"], by=_actor_of(document["by"]), at=document["at"])


def _decision(decision: HumanDecision) -> Document:
    return {
        "decision_no": decision.decision_no,
        "level": decision.level.value,
        "recommended_level": None if decision.recommended_level is None else decision.recommended_level.value,
        "by": _actor(decision.by),
        "at": decision.at,
    }


def _decision_of(document: Document, texts: dict[str, str]) -> HumanDecision:
    recommended = document.get("recommended_level")
    return HumanDecision(
        decision_no=int(document["decision_no"]),
        level=RiskLevel(document["level"]),
        recommended_level=None if recommended is None else RiskLevel(recommended),
        reason=Sealed(texts[f"decision:{document['decision_no']}"]),
        by=_actor_of(document["by"]),
        at=document["at"],
    )


def _closure(closure: Closure) -> Document:
    return {"at": closure.at, "by": _actor(closure.by), "status_before": closure.status_before.value}


def _closure_of(document: Document, sealed: str) -> Closure:
    return Closure(
        at=document["at"],
        by=_actor_of(document["by"]),
        reason=Sealed(sealed),
        status_before=CaseStatus(document["status_before"]),
    )
