"""Triage's documents on the real store: an assessment and a history are written once and read back the same."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from services.triage.assessment import CaseAssessment, Incident, Lane
from services.triage.domain import Histories, HistoryEntry
from services.triage.policy import Policy
from services.triage.service import facts_of
from services.triage.store import HISTORY, HistoryStore, assessment_store
from shared.messaging.lanes import AcuteGate, routine
from shared.store.aggregates import StaleAggregate
from shared.store.mongo import Document
from tests.support.commands import Commands
from tests.support.endpoints import Endpoints
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


async def test_the_histories_a_routine_batch_adds_at_the_same_moment_go_to_the_store_together(
    endpoints: Endpoints, run_id: str, policy: Policy
) -> None:
    commands = Commands(HISTORY)
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        endpoints.mongodb_uri, tz_aware=True, event_listeners=[commands]
    )
    history = HistoryStore(client[f"test_{run_id}_{uuid.uuid4().hex[:6]}"])
    added: dict[str, list[HistoryEntry]] = {}
    for n in range(12):  # twelve cases of twelve people in one batch
        case = CaseAssessment(f"case-{uuid.uuid4().hex[:12]}")
        histories = Histories({})
        event = mild(case.case_id, holder=f"H. {n} {uuid.uuid4().hex[:8]}")
        case.take_reports([Incident(event, facts_of(event, pseudonym_key=KEY))], histories, policy, lane=Lane.MAIN)
        added.update(histories.added)
    try:
        with routine(AcuteGate(hold_s=5)):
            await asyncio.gather(*(history.add(ref, entries) for ref, entries in added.items()))
        assert 0 < commands.seen["update"] < len(added) / 2, "most upserts rode along in another's command"
        for ref, entries in added.items():
            assert await history.entries(ref) == {e.event_id: e for e in entries}
    finally:
        await client.close()
