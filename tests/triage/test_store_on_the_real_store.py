"""Triage's documents on the real store: an assessment and a history are written once and read back the same."""

from __future__ import annotations

import uuid

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from services.triage.assessment import CaseAssessment, Incident, Lane
from services.triage.domain import Histories
from services.triage.policy import Policy
from services.triage.service import facts_of
from services.triage.store import HistoryStore, assessment_store
from shared.store.aggregates import StaleAggregate
from shared.store.mongo import Document
from tests.triage.test_service import KEY, mild, report

pytestmark = pytest.mark.integration


async def test_an_assessment_is_saved_with_one_write_and_reads_back(
    store: AsyncDatabase[Document], policy: Policy
) -> None:
    case_id = f"case-{uuid.uuid4().hex[:12]}"
    events = [report(case_id), mild(case_id, days_later=1)]
    assessments = assessment_store(store)
    async with assessments.unit(case_id, new=lambda: CaseAssessment(case_id)) as case:
        incidents = [Incident(e, facts_of(e, pseudonym_key=KEY)) for e in events]
        case.take_reports(incidents, Histories({}), policy, lane=Lane.URGENT)
    written = case
    assessments.forget()
    async with assessments.unit(case_id, new=lambda: CaseAssessment(case_id)) as again:
        assert again == written
        assert again.redelivered(events[1].event_id, Lane.URGENT) == written.decisions[-1]


async def test_a_new_assessment_is_one_insert_and_a_second_one_of_the_case_is_refused(
    store: AsyncDatabase[Document], policy: Policy
) -> None:
    case_id = f"case-{uuid.uuid4().hex[:12]}"
    case = CaseAssessment(case_id)
    event = report(case_id)
    case.take_reports([Incident(event, facts_of(event, pseudonym_key=KEY))], Histories({}), policy, lane=Lane.MAIN)
    assessments = assessment_store(store)
    await assessments.add(case_id, case)
    with pytest.raises(StaleAggregate):
        await assessment_store(store).add(case_id, CaseAssessment(case_id))
    async with assessment_store(store).unit(case_id, new=lambda: CaseAssessment(case_id)) as read:
        assert read == case


async def test_history_entries_are_added_in_one_write_and_read_back(
    store: AsyncDatabase[Document], policy: Policy
) -> None:
    case = CaseAssessment(f"case-{uuid.uuid4().hex[:12]}")
    holder = f"H. {uuid.uuid4().hex[:8]}"
    events = [mild(case.case_id, holder=holder, days_later=n) for n in range(2)]
    histories = Histories({})
    case.take_reports([Incident(e, facts_of(e, pseudonym_key=KEY)) for e in events], histories, policy, lane=Lane.MAIN)
    ((ref, added),) = histories.added.items()
    history = HistoryStore(store)
    await history.add(ref, added)
    assert await history.entries(ref) == {e.event_id: e for e in added}
