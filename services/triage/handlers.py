"""Triage's subscribers: assess each reported incident and publish the decision."""

from __future__ import annotations

import structlog

from services.triage import domain
from services.triage.store import AssessmentStore
from shared.contracts.events import CaseFacts, CaseTriaged, IncidentReported
from shared.contracts.topics import CASE_TRIAGED, INCIDENT_REPORTED
from shared.outbox import outbox_entry
from shared.pseudonym import office_holder_ref
from shared.runtime import Runtime

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


class TriageHandlers:
    def __init__(self, runtime: Runtime, store: AssessmentStore) -> None:
        self._runtime = runtime
        self._store = store
        self._source = f"/weerbaar/{runtime.service}"

    def register(self) -> None:
        self._runtime.produces(CASE_TRIAGED, CaseTriaged, "Risk assessment with explained factors and routes")
        self._runtime.consume(INCIDENT_REPORTED, IncidentReported, self.on_incident_reported)

    async def on_incident_reported(self, event: IncidentReported) -> None:
        current = await self._store.load(event.case_id)
        if current and event.event_id in current.get("processed", []):
            log.info("duplicate_event_skipped")
        else:
            assessment = domain.assess(event.report)
            number = int(current["assessment_no"]) + 1 if current else 1
            triaged = CaseTriaged(
                case_id=event.case_id,
                assessment_no=number,
                policy_version=assessment.policy_version,
                level=assessment.level,
                score=assessment.score,
                factors=assessment.factors,
                routes=assessment.routes,
                facts=facts_of(event, pseudonym_key=self._runtime.settings.pseudonym_secret),
            )
            await self._store.save(
                case_id=event.case_id,
                expected_version=int(current["version"]) if current else 0,
                state={
                    "assessment_no": number,
                    "level": assessment.level.value,
                    "score": assessment.score,
                    "policy_version": assessment.policy_version,
                },
                event_id=event.event_id,
                outbox=[outbox_entry(triaged, source=self._source)],
            )
            log.info(
                "case_triaged",
                level=assessment.level.value,
                score=assessment.score,
                routes=[r.recipient.value for r in assessment.routes],
            )
        await self._runtime.outbox.flush(self._store.collection, event.case_id)
