"""Triage's use cases: assess a case's new reports, re-assess on decisive follow-ups, publish the decision.

One unit of work per case and call: the assessment is loaded once (usually from what this process last wrote),
every event of the call is applied, it is saved with one write, and the decision is published before the call
returns (so before the batch is committed). A crash in between leaves the records uncommitted: they come again,
are found applied, and the same decision (same event id) is published again. Writes without an input record do not
exist in triage, so it keeps no outbox.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol

import structlog

from services.triage import domain
from services.triage.assessment import CaseAssessment, Decision, Incident, Lane
from services.triage.domain import Histories
from services.triage.policy import Policy
from services.triage.store import History
from shared.contracts.authority import burgemeester_municipality
from shared.contracts.envelope import Record, to_record
from shared.contracts.events import CaseFacts, CaseFollowup, CaseTriaged, IncidentReported
from shared.contracts.incident import Channel, platform_of
from shared.contracts.topics import CASE_TRIAGED, CASE_TRIAGED_URGENT, INCIDENT_URGENT
from shared.contracts.workflow import CaseAssessed
from shared.security.case_keys import Opener, PlainReports
from shared.security.pseudonym import office_holder_ref
from shared.store.aggregates import StaleAggregate

log = structlog.get_logger("weerbaar.triage")


class Assessments(Protocol):
    """Where assessments are kept: ``shared.aggregates.AggregateStore`` in the service, a fake in unit tests."""

    def unit(
        self, aggregate_id: str, new: Callable[[], CaseAssessment]
    ) -> AbstractAsyncContextManager[CaseAssessment]: ...

    async def add(self, aggregate_id: str, aggregate: CaseAssessment) -> None: ...

    async def peek(self, aggregate_id: str) -> CaseAssessment | None: ...


class Publisher(Protocol):
    async def send_many(self, records: Sequence[Record]) -> None: ...


class SeenCases:
    """Cases this process loaded or wrote lately (as many as ``AggregateStore`` keeps): any other is most likely
    new, so its first assessment is tried as one insert without a read."""

    def __init__(self, size: int = 20_000) -> None:
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._size = size

    def __contains__(self, case_id: object) -> bool:
        return case_id in self._seen

    def note(self, case_id: str) -> None:
        self._seen[case_id] = None
        self._seen.move_to_end(case_id)
        while len(self._seen) > self._size:
            self._seen.popitem(last=False)

    def forget(self) -> None:
        self._seen.clear()


def facts_of(event: IncidentReported, *, pseudonym_key: bytes) -> CaseFacts:
    """What triage keeps of a report: codes, times and a keyed pseudonym of the office holder, never a name."""
    report = event.plain_report
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
        burgemeester_municipality=burgemeester_municipality(report),
        directed_at=report.incident.directed_at,
        platform=platform_of(report.incident.platform) if report.incident.channel is Channel.ONLINE else None,
    )


class Triage:
    def __init__(
        self,
        *,
        assessments: Assessments,
        history: History,
        publisher: Publisher,
        policy: Policy,
        pseudonym_key: bytes,
        source: str,
        opener: Opener | None = None,
    ) -> None:
        self._opener: Opener = opener or PlainReports()
        self._assessments = assessments
        self._history = history
        self._publisher = publisher
        self._policy = policy
        self._key = pseudonym_key
        self._source = source
        self._cases = SeenCases()

    def forget(self) -> None:
        """Partitions moved: cases seen so far may be another process's now (and written by it)."""
        self._cases.forget()

    async def take_reports(self, case_id: str, events: Sequence[IncidentReported], *, lane: Lane) -> None:
        """Assess the case's new reports (one decision for all of them) and publish it, high and critical ones
        down the acute lane too; reports delivered again publish their decision again.

        Saved, then published, then the office holders' history written: on the acute lane the decision waits
        for two store commands (history read, assessment insert) when the case and the person are new here.
        """
        events = await self._opener.opened(events)  # sealed with the case's key; an erased case's are left out
        if not events:
            return
        incidents = [Incident(e, facts_of(e, pseudonym_key=self._key)) for e in events]
        async with self._history.holding(i.facts.office_holder_ref for i in incidents) as histories:
            again, decision, current = await self._assess(case_id, incidents, histories, lane)
        await self._publish(again, decision, {e.event_id: e for e in events}, current=current)
        await self._history.write(histories.added)

    async def _assess(
        self, case_id: str, incidents: list[Incident], histories: Histories, lane: Lane
    ) -> tuple[list[Decision], Decision | None, CaseTriaged | None]:
        """What to publish again, the new decision, and the case's current one."""
        if case_id not in self._cases:  # most likely new: one insert and no read before it
            trial, case = histories.fork(), CaseAssessment(case_id)
            decision = case.take_reports(incidents, trial, self._policy, lane=lane)
            try:
                await self._assessments.add(case_id, case)
            except StaleAggregate:
                pass  # it exists after all (this process had not seen it): assess it as stored
            else:
                histories.adopt(trial)
                self._cases.note(case_id)
                return [], decision, case.current
        async with self._assessments.unit(case_id, new=lambda: CaseAssessment(case_id)) as case:
            again = [d for d in (case.redelivered(i.event.event_id, lane) for i in incidents) if d is not None]
            case.recall(incidents, histories, self._policy, lane=lane)
            decision = case.take_reports(incidents, histories, self._policy, lane=lane)
        self._cases.note(case_id)
        return again, decision, case.current

    async def forget_case(self, case_id: str, report_ids: Sequence[str] = ()) -> None:
        """The case was erased: it leaves its office holder's history and its assessment keeps no pseudonym, and
        its latest decision is published again without the pseudonym.

        The decisions on ``weerbaar.case.triaged.v1`` carry the pseudonym; that topic is compacted by case, so once
        the copy without it is the case's last record, the broker drops the earlier ones (``topics.DECISIONS``). The
        copy keeps its event id: to every consumer it is a decision it has seen (notify also skips it for its
        erased pseudonym), and to a consumer reading the log from the start it is the case's latest decision.

        A filer's withdrawal of some reports (``report_ids``) leaves the case, and so its office holder, as it is.
        Idempotent: the history first, then the assessment, then the copy, so an erasure cut off in between is
        completed by the redelivered event.
        """
        self._opener.forget(case_id)
        if report_ids:
            return
        known = await self._assessments.peek(case_id)
        if known is None:
            return
        await self._history.forget_case(known.pseudonyms(), case_id)
        async with self._assessments.unit(case_id, new=lambda: CaseAssessment(case_id)) as case:
            changed = case.erase()
        log.info("case_forgotten", case_id=case_id, changed=changed)
        if case.current is not None:
            await self._publisher.send_many([to_record(case.current, source=self._source, topic=CASE_TRIAGED)])

    async def take_followups(self, case_id: str, events: Sequence[CaseFollowup]) -> None:
        """Re-assess the case with its new decisive follow-ups (one decision) and publish it; informational ones
        change nothing and cost nothing."""
        decisive = [(event, rule) for event in events if (rule := domain.followup_rule(event, self._policy))]
        if not decisive:
            log.info("followup_informational", count=len(events))
            return
        async with self._assessments.unit(case_id, new=lambda: CaseAssessment(case_id)) as case:
            again = [d for d in (case.redelivered(e.event_id, Lane.FOLLOWUP) for e, _ in decisive) if d is not None]
            decision = case.take_followups(decisive, self._policy)
        self._cases.note(case_id)
        await self._publish(again, decision, {}, current=case.current)

    async def take_decisions(self, case_id: str, events: Sequence[CaseAssessed]) -> None:
        """Route the people's decisions on the level (one decision) and publish it, high and critical ones down the
        acute lane too: an upgrade reaches whoever the new level routes to."""
        async with self._assessments.unit(case_id, new=lambda: CaseAssessment(case_id)) as case:
            again = [d for d in (case.redelivered(e.event_id, Lane.HUMAN) for e in events) if d is not None]
            decision = case.take_decisions(events, self._policy)
        self._cases.note(case_id)
        await self._publish(again, decision, {}, current=case.current)

    async def _publish(
        self,
        again: list[Decision],
        decision: Decision | None,
        reports: dict[str, IncidentReported],
        *,
        current: CaseTriaged | None,
    ) -> None:
        """The acute lane first (reports the screen missed, then high and critical decisions), then the main topic.

        The main topic is compacted by case (``topics.DECISIONS``): the case's last record there is the decision a
        reader from the start finds. So decisions go oldest first, and when only an older one is published again (a
        lane's record redelivered after another lane decided), the current one follows it there (a redelivery to
        every consumer)."""
        if again:
            log.info("decision_published_again", assessments=sorted({d.triaged.assessment_no for d in again}))
        if decision is not None:
            _logged(decision)
        every = {d.triaged.event_id: d for d in [*again, *([decision] if decision else [])]}
        unique = sorted(every.values(), key=lambda d: d.triaged.assessment_no)
        last = [current] if unique and current and unique[-1].triaged.assessment_no < current.assessment_no else []
        copies = [
            to_record(reports[event_id], source=self._source, topic=INCIDENT_URGENT)
            for d in unique
            for event_id in d.copies
            if event_id in reports
        ]
        if copies:
            await self._publisher.send_many(copies)  # notify's acute consumers need the report before the decision
        await self._publisher.send_many(
            [
                *(to_record(d.triaged, source=self._source, topic=CASE_TRIAGED_URGENT) for d in unique if d.acute),
                *(to_record(d.triaged, source=self._source, topic=CASE_TRIAGED) for d in unique),
                *(to_record(d, source=self._source, topic=CASE_TRIAGED) for d in last),
            ]
        )


def _logged(decision: Decision) -> None:
    triaged = decision.triaged
    log.info(
        "case_triaged",
        trigger=triaged.trigger,
        assessment_no=triaged.assessment_no,
        level=triaged.level.value,
        score=triaged.score,
        level_held=triaged.level_held,
        lane=decision.lane.value,
        routes=[r.recipient.value for r in triaged.routes],
    )
