"""Triage's subscribers: assess each reported incident and each follow-up that changes the picture."""

from __future__ import annotations

import structlog

from services.triage import domain
from services.triage.domain import Assessment, HistoryEntry, RoutingFacts
from services.triage.errors import CaseNotYetAssessed
from services.triage.policy import Policy
from services.triage.store import AssessmentStore, HistoryStore
from shared.contracts.events import CaseFacts, CaseFollowup, CaseTriaged, Factor, IncidentReported, RiskLevel
from shared.contracts.topics import CASE_FOLLOWUP, CASE_TRIAGED, CASE_TRIAGED_URGENT, INCIDENT_REPORTED, INCIDENT_URGENT
from shared.mongo import Document
from shared.outbox import outbox_entry
from shared.pseudonym import office_holder_ref
from shared.runtime import Runtime
from shared.urgency import possibly_acute

log = structlog.get_logger("weerbaar.triage")


def facts_of(event: IncidentReported, *, pseudonym_key: bytes) -> CaseFacts:
    report = event.report
    return CaseFacts(
        office_holder_ref=office_holder_ref(report.office_holder, key=pseudonym_key),
        role=report.office_holder.role,
        body_kind=report.office_holder.body.kind,
        body_code=report.office_holder.body.code,
        gender=report.office_holder.gender,
        types=tuple(report.incident.types),
        channel=report.incident.channel,
        occurred_at=report.incident.occurred_at,
        reported_at=event.occurred,
        impact_on_functioning=report.incident.impact_on_functioning,
        wants_aangifte=report.wants_aangifte,
    )


def _state(assessment: Assessment, number: int, facts: CaseFacts) -> Document:
    """What triage keeps per case: enough to re-assess on a follow-up, nothing personal."""
    return {
        "assessment_no": number,
        "level": assessment.level.value,
        "computed_level": assessment.computed_level.value,
        "score": assessment.score,
        "policy_version": assessment.policy_version,
        "factors": [f.model_dump(mode="json") for f in assessment.factors],
        "facts": facts.model_dump(mode="json"),
    }


class TriageHandlers:
    def __init__(self, runtime: Runtime, store: AssessmentStore, history: HistoryStore, policy: Policy) -> None:
        self._runtime = runtime
        self._store = store
        self._history = history
        self._policy = policy
        self._source = f"/weerbaar/{runtime.service}"

    def register(self) -> None:
        self._runtime.produces(CASE_TRIAGED, CaseTriaged, "Risk assessment with explained factors and routes")
        self._runtime.produces(CASE_TRIAGED_URGENT, CaseTriaged, "Acute lane: copies of high and critical decisions")
        self._runtime.produces(INCIDENT_URGENT, IncidentReported, "Acute lane: a report triage found acute")
        self._runtime.consume(INCIDENT_URGENT, IncidentReported, self.on_incident_reported)
        self._runtime.consume(INCIDENT_REPORTED, IncidentReported, self.on_incident_reported)
        self._runtime.consume(CASE_FOLLOWUP, CaseFollowup, self.on_case_followup)

    async def on_incident_reported(self, event: IncidentReported) -> None:
        current = await self._store.load(event.case_id)
        created_with = None
        if current and event.event_id in current.get("processed", []):
            log.info("duplicate_event_skipped")
        else:
            facts = facts_of(event, pseudonym_key=self._runtime.settings.pseudonym_secret)
            earlier = await self._history.earlier(
                facts.office_holder_ref,
                around=facts.occurred_at,
                window_days=self._policy.history.window_days,
                exclude_event=event.event_id,
            )
            previous = RiskLevel(current["level"]) if current else None
            assessment = domain.assess(event.report, earlier, self._policy, previous=previous)
            entry = HistoryEntry(
                case_id=event.case_id,
                event_id=event.event_id,
                occurred_at=facts.occurred_at,
                channel=facts.channel,
                level=assessment.computed_level,
                types=facts.types,
                perpetrator_repeat=event.report.incident.perpetrator == "repeat",
            )
            await self._history.record(entry, office_holder_ref=facts.office_holder_ref)
            created_with = await self._save(
                event.case_id, event.event_id, current, assessment, facts, trigger="incident", report_event=event
            )
        await self._runtime.outbox.flush(self._store.collection, event.case_id, created_with=created_with)

    async def on_case_followup(self, event: CaseFollowup) -> None:
        rule = domain.followup_rule(event, self._policy)
        if rule is None:
            log.info("followup_informational", kind=event.kind.value)
            return
        current = await self._store.load(event.case_id)
        if current is None:
            raise CaseNotYetAssessed(f"case {event.case_id} has no assessment yet")
        if event.event_id in current.get("processed", []):
            log.info("duplicate_event_skipped")
        else:
            facts = CaseFacts.model_validate(current["facts"])
            assessment = domain.reassess_on_followup(
                rule,
                factors=[Factor.model_validate(f) for f in current["factors"]],
                previous=RiskLevel(current["level"]),
                facts=RoutingFacts(
                    wants_aangifte=facts.wants_aangifte, body_kind=facts.body_kind, body_code=facts.body_code
                ),
                policy=self._policy,
            )
            await self._save(event.case_id, event.event_id, current, assessment, facts, trigger="followup")
        await self._runtime.outbox.flush(self._store.collection, event.case_id)

    def _outbox(self, triaged: CaseTriaged, report_event: IncidentReported | None) -> list[Document]:
        """The decision on the main topic; high and critical ones also down the acute lane, ahead of it."""
        entries = [outbox_entry(triaged, source=self._source)]
        if triaged.level in (RiskLevel.HIGH, RiskLevel.CRITICAL):
            entries.insert(0, outbox_entry(triaged, source=self._source, topic=CASE_TRIAGED_URGENT))
            if report_event is not None and not possibly_acute(report_event.report):
                # notify's acute consumers need the report too; intake did not see it coming
                entries.insert(0, outbox_entry(report_event, source=self._source, topic=INCIDENT_URGENT))
        return entries

    async def _save(
        self,
        case_id: str,
        event_id: str,
        current: Document | None,
        assessment: Assessment,
        facts: CaseFacts,
        *,
        trigger: str,
        report_event: IncidentReported | None = None,
    ) -> list[Document] | None:
        """Store the assessment with its events to publish; returns them when this created the case's document."""
        number = int(current["assessment_no"]) + 1 if current else 1
        triaged = CaseTriaged(
            case_id=case_id,
            assessment_no=number,
            policy_version=assessment.policy_version,
            level=assessment.level,
            score=assessment.score,
            factors=assessment.factors,
            routes=assessment.routes,
            facts=facts,
            trigger="followup" if trigger == "followup" else "incident",
            previous_level=assessment.previous_level,
            level_held=assessment.level_held,
        )
        outbox = self._outbox(triaged, report_event)
        await self._store.save(
            case_id=case_id,
            expected_version=int(current["version"]) if current else 0,
            state=_state(assessment, number, facts),
            event_id=event_id,
            outbox=outbox,
        )
        log.info(
            "case_triaged",
            trigger=trigger,
            assessment_no=number,
            level=assessment.level.value,
            computed_level=assessment.computed_level.value,
            score=assessment.score,
            routes=[r.recipient.value for r in assessment.routes],
        )
        return outbox if current is None else None
