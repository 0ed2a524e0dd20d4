"""Triage's subscribers: reports on both lanes and follow-ups, each a few lines into the use cases."""

from __future__ import annotations

from services.triage.assessment import Lane
from services.triage.service import Triage
from shared.contracts.events import CaseErased, CaseFollowup, CaseTriaged, IncidentReported
from shared.contracts.topics import (
    CASE_ASSESSED,
    CASE_ERASED,
    CASE_FOLLOWUP,
    CASE_TRIAGED,
    CASE_TRIAGED_URGENT,
    INCIDENT_REPORTED,
    INCIDENT_URGENT,
)
from shared.contracts.workflow import CaseAssessed
from shared.runtime.service import Runtime


class TriageHandlers:
    def __init__(self, runtime: Runtime, triage: Triage) -> None:
        self._runtime = runtime
        self._triage = triage

    def register(self) -> None:
        self._runtime.produces(CASE_TRIAGED, CaseTriaged, "Risk assessment with explained factors and routes")
        self._runtime.produces(CASE_TRIAGED_URGENT, CaseTriaged, "Acute lane: copies of high and critical decisions")
        self._runtime.produces(INCIDENT_URGENT, IncidentReported, "Acute lane: a report triage found acute")
        self._runtime.consume(INCIDENT_URGENT, IncidentReported, self.on_urgent_report)
        self._runtime.consume(INCIDENT_REPORTED, IncidentReported, self.on_report, per_case=self.on_reports)
        self._runtime.consume(CASE_FOLLOWUP, CaseFollowup, self.on_followup, per_case=self.on_followups)
        self._runtime.consume(CASE_ASSESSED, CaseAssessed, self.on_decision, per_case=self.on_decisions)
        self._runtime.consume(CASE_ERASED, CaseErased, self.on_case_erased)

    async def on_case_erased(self, event: CaseErased) -> None:
        await self._triage.forget_case(event.case_id, event.report_ids)

    async def on_urgent_report(self, event: IncidentReported) -> None:
        """The acute lane: small batches, every case of one at the same time, each decision published as it is made."""
        await self._triage.take_reports(event.case_id, [event], lane=Lane.URGENT)

    async def on_report(self, event: IncidentReported) -> None:
        await self._triage.take_reports(event.case_id, [event], lane=Lane.MAIN)

    async def on_reports(self, case_id: str, events: list[IncidentReported]) -> None:
        await self._triage.take_reports(case_id, events, lane=Lane.MAIN)

    async def on_followup(self, event: CaseFollowup) -> None:
        await self._triage.take_followups(event.case_id, [event])

    async def on_followups(self, case_id: str, events: list[CaseFollowup]) -> None:
        await self._triage.take_followups(case_id, events)

    async def on_decision(self, event: CaseAssessed) -> None:
        await self._triage.take_decisions(event.case_id, [event])

    async def on_decisions(self, case_id: str, events: list[CaseAssessed]) -> None:
        await self._triage.take_decisions(case_id, events)
