"""Reporting's projection with in-memory fakes: one save per case per batch, order-free folds, the book, the stats."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import BaseModel

from services.reporting import queries
from services.reporting.book import FactBook
from services.reporting.disclosure import Method, Rounding
from services.reporting.domain import Disclosure
from services.reporting.facts import FactSheet
from services.reporting.population import load_population
from services.reporting.projection import Projection
from services.reporting.publishing import StatsPublisher
from services.reporting.store import FactSheetCodec
from shared.contracts.events import (
    CaseErased,
    CaseFacts,
    CaseFollowup,
    CaseTriaged,
    ErasureReason,
    Event,
    FollowupKind,
    NotificationState,
    NotificationStatus,
    RiskLevel,
)
from shared.contracts.incident import BodyKind, Channel, Gender, IncidentType, Role
from shared.contracts.topics import Recipient
from tests.reporting.fakes import FakeCases, NothingKnown, RecordingPublisher
from tests.reporting.population_fixture import generate

REPORTED = datetime(2026, 3, 2, 9, 30, 0, 123456, tzinfo=UTC)
THRESHOLD = 5

# Exact figures (the projection is under test here, not disclosure control: tests/reporting/test_disclosure.py)
EXACT = Disclosure(threshold=1, rounding=Rounding(b"test", base=1), method=Method.PER_TABLE)


def triaged(case_id: str, number: int = 1, level: RiskLevel = RiskLevel.MEDIUM) -> CaseTriaged:
    return CaseTriaged(
        case_id=case_id,
        assessment_no=number,
        policy_version="t",
        level=level,
        score=1.0,
        factors=(),
        routes=(),
        facts=CaseFacts(
            office_holder_ref="oh_unit",
            role=Role.RAADSLID,
            body_kind=BodyKind.GEMEENTE,
            body_code="GM0344",
            gender=Gender.VROUW,
            types=(IncidentType.THREAT,),
            channel=Channel.ONLINE,
            occurred_at=REPORTED - timedelta(hours=2),
            reported_at=REPORTED,
            impact_on_functioning=False,
            wants_aangifte=True,
        ),
        occurred=REPORTED + timedelta(minutes=number),
    )


def status(case_id: str, state: NotificationState, minutes: float) -> NotificationStatus:
    return NotificationStatus(
        case_id=case_id,
        notification_id="n" * 32,
        recipient=Recipient.OTWB,
        status=state,
        level=RiskLevel.MEDIUM,
        occurred=REPORTED + timedelta(minutes=minutes),
    )


def followup(case_id: str, kind: FollowupKind, outcome: str = "") -> CaseFollowup:
    return CaseFollowup(case_id=case_id, kind=kind, organisation="OM", outcome=outcome)


def projection(cases: FakeCases, book: FactBook | None = None) -> Projection:
    return Projection(cases, book if book is not None else NothingKnown())


async def test_a_cases_events_in_one_batch_are_loaded_and_saved_once() -> None:
    cases = FakeCases()
    events = [
        triaged("case-0001"),
        status("case-0001", NotificationState.SENT, 12),
        status("case-0001", NotificationState.SENT, 10),
        status("case-0001", NotificationState.ACKNOWLEDGED, 30),
    ]
    assert await projection(cases).apply("case-0001", events)
    assert (cases.loads["case-0001"], cases.saves["case-0001"]) == (1, 1)
    fact = cases.codec.from_document(cases.documents["case-0001"]).fact()
    assert fact is not None
    assert (fact.minutes_to_notification, fact.minutes_to_acknowledgement) == (10.0, 30.0)


async def test_events_delivered_again_change_nothing_and_write_nothing() -> None:
    cases = FakeCases()
    events: list[BaseModel] = [triaged("case-0002"), status("case-0002", NotificationState.SENT, 5)]
    await projection(cases).apply("case-0002", events)
    assert not await projection(cases).apply("case-0002", events)
    assert not await projection(cases).apply("case-0002", events[:1])
    assert cases.saves["case-0002"] == 1


async def test_an_earlier_assessment_arriving_late_does_not_replace_a_later_one() -> None:
    cases = FakeCases()
    await projection(cases).apply("case-0003", [triaged("case-0003", 2, RiskLevel.HIGH)])
    assert not await projection(cases).apply("case-0003", [triaged("case-0003", 1, RiskLevel.LOW)])
    fact = cases.codec.from_document(cases.documents["case-0003"]).fact()
    assert fact is not None
    assert fact.dims["risk_level"] == "high"


async def test_states_the_figures_do_not_use_load_nothing() -> None:
    cases = FakeCases()
    assert not await projection(cases).apply("case-0004", [status("case-0004", NotificationState.FAILED, 1)])
    assert cases.loads["case-0004"] == 0


def test_followups_count_their_furthest_stage_in_any_order() -> None:
    events = [
        followup("case-0005", FollowupKind.OM_DECISION, "Sepot "),
        followup("case-0005", FollowupKind.AANGIFTE_REGISTERED),
        followup("case-0005", FollowupKind.MEASURE_TAKEN, "contactverbod opgelegd"),
        triaged("case-0005"),
    ]
    outcomes = set()
    for _ in range(10):
        random.shuffle(events)
        sheet = FactSheet("case-0005")
        for event in events:
            sheet.take(event)
        fact = sheet.fact()
        assert fact is not None
        outcomes.add((fact.dims["followup_outcome"], fact.dims["aangifte_filed"]))
    assert outcomes == {("om_sepot", "ja")}


def test_a_document_with_the_earlier_followup_list_reads_as_its_stage() -> None:
    sheet = FactSheet("case-0006")
    sheet.take(triaged("case-0006"))
    document = {**FactSheetCodec().to_document(sheet), "_id": "case-0006"}
    document["followups"] = [
        {"event_id": "e1", "kind": "aangifte_registered", "outcome": ""},
        {"event_id": "e2", "kind": "om_decision", "outcome": "dagvaarding"},
    ]
    read = FactSheetCodec().from_document(document)
    assert (read.followup_stage, read.aangifte_filed) == ("om_dagvaarding", True)
    again = FactSheetCodec().from_document({**FactSheetCodec().to_document(read), "_id": "case-0006"})
    assert again == read


async def test_the_book_reads_the_store_once_and_then_follows_what_this_process_writes() -> None:
    cases = FakeCases()
    await projection(cases).apply("case-old1", [triaged("case-old1")])
    book = FactBook(cases)
    await book.load()
    live = projection(cases, book)
    await live.apply("case-new1", [triaged("case-new1")])
    assert {f.case_id for f in await book.facts_between(None, None)} == {"case-old1", "case-new1"}
    assert cases.scans == 1
    book.forget()  # partitions moved
    await book.facts_between(None, None)
    assert cases.scans == 2


async def test_a_case_the_book_does_not_know_is_added_with_one_insert_and_no_read() -> None:
    cases = FakeCases()
    book = FactBook(cases)
    await book.load()
    live = projection(cases, book)
    assert await live.apply("case-0010", [triaged("case-0010"), status("case-0010", NotificationState.SENT, 3)])
    assert (cases.loads["case-0010"], cases.saves["case-0010"]) == (0, 1)
    assert await live.apply("case-0010", [status("case-0010", NotificationState.ACKNOWLEDGED, 9)])
    assert (cases.loads["case-0010"], cases.saves["case-0010"]) == (1, 2)  # known now: loaded, then saved


async def test_a_case_written_by_another_process_is_folded_into_after_the_insert_fails() -> None:
    cases = FakeCases()
    book = FactBook(cases)
    await book.load()
    await projection(cases).apply("case-0011", [triaged("case-0011", 1, RiskLevel.LOW)])  # not through this book
    assert await projection(cases, book).apply("case-0011", [status("case-0011", NotificationState.SENT, 4)])
    sheet = cases.codec.from_document(cases.documents["case-0011"])
    assert sheet.triage is not None
    assert sheet.first_sent_at is not None
    assert not book.absent("case-0011")


async def test_what_is_written_while_the_book_loads_wins_over_what_the_load_read() -> None:
    cases = FakeCases()
    await projection(cases).apply("case-0007", [triaged("case-0007", 1, RiskLevel.LOW)])
    book = FactBook(cases)
    read = cases.every_sheet

    async def slow_read() -> list[FactSheet]:
        sheets = await read()  # what the store held when the read began
        await projection(cases, book).apply("case-0007", [triaged("case-0007", 2, RiskLevel.HIGH)])
        return sheets

    cases.every_sheet = slow_read  # type: ignore[method-assign]
    await book.load()
    (fact,) = await book.facts_between(None, None)
    assert fact.dims["risk_level"] == "high"


@pytest.mark.parametrize("batched", [True, False])
async def test_figures_from_the_book_equal_counts_computed_from_a_generated_population(batched: bool) -> None:
    data = generate(random.Random(15))
    cases = FakeCases()
    book = FactBook(cases)
    await book.load()
    live = projection(cases, book)
    if batched:  # all of a case's events at once, as the per-case batch handler gets them
        by_case: dict[str, list[BaseModel]] = defaultdict(list)
        for event in data.events:
            assert isinstance(event, Event)
            by_case[event.case_id].append(event)
        for case_id, events in by_case.items():
            await live.apply(case_id, events)
    else:
        for event in data.events:
            assert isinstance(event, Event)
            await live.apply(event.case_id, [event])
    population = load_population(None)
    for dims in (("role", "gender"), ("risk_level",), ("period",)):
        cells = await queries.figures(book, dims, None, None, disclosure=EXACT, population=population)
        got = {tuple(c.dims[d] for d in dims): (c.incidents, c.affected_office_holders) for c in cells}
        assert got == data.expected(*dims)
    assert cases.scans == 1
    if batched:
        assert set(cases.saves.values()) == {1}


async def test_stats_publish_only_the_cells_that_changed() -> None:
    cases = FakeCases()
    book = FactBook(cases)
    await book.load()
    live = projection(cases, book)
    published = RecordingPublisher()
    stats = StatsPublisher(book, published, disclosure=EXACT, population=load_population(None))
    await live.apply("case-0008", [triaged("case-0008")])
    first = await stats.publish_changes()
    assert first == len(published.published) > 0
    assert await stats.publish_changes() == 0
    await live.apply("case-0009", [triaged("case-0009", level=RiskLevel.HIGH)])
    assert 0 < await stats.publish_changes() < first + 5
    keys = {key for key, _ in published.published}
    assert "risk_level=high|year=2026" in keys


async def test_a_period_that_closes_is_published_without_waiting_for_new_facts() -> None:
    cases = FakeCases()
    book = FactBook(cases)
    await book.load()
    now = [datetime(2026, 3, 20, tzinfo=UTC)]  # the cases are of March 2026
    consistent = Disclosure(threshold=1, rounding=Rounding(b"test", base=1), lag_days=7)
    published = RecordingPublisher()
    stats = StatsPublisher(
        book, published, disclosure=consistent, population=load_population(None), clock=lambda: now[0]
    )
    for n in range(3):
        await projection(cases, book).apply(f"case-{n:04d}", [triaged(f"case-{n:04d}")])
    await stats.publish_changes()
    assert not [key for key, _ in published.published if "2026" in (key or "")]  # March is open
    stats.due.clear()
    await stats.new_day()
    assert not stats.due.is_set()  # the same day: nothing to do
    now[0] = datetime(2026, 4, 8, 9, tzinfo=UTC)
    await stats.new_day()
    assert stats.due.is_set()
    await stats.publish_changes()
    assert "period=2026-03" in {key for key, _ in published.published}


@pytest.mark.parametrize("erasure_first", [False, True])
def test_an_erased_case_keeps_its_figures_and_loses_its_office_holders_pseudonym(erasure_first: bool) -> None:
    erased = CaseErased(case_id="case-0007", reason=ErasureReason.REQUEST)
    events: list[BaseModel] = [triaged("case-0007"), erased]
    sheet = FactSheet("case-0007")
    assert sheet.take_all(reversed(events) if erasure_first else events)
    fact = sheet.fact()
    assert fact is not None
    assert fact.office_holder_ref == "erased-case-0007"
    assert fact.dims["risk_level"] == "medium", "the figures stay"
    stored = FactSheetCodec().to_document(sheet)
    assert "oh_unit" not in str(stored)
    assert FactSheetCodec().from_document({**stored, "_id": "case-0007"}) == sheet
    assert not sheet.take_all([erased, triaged("case-0007")]), "delivered again: nothing changes"


def test_a_filers_withdrawal_of_some_reports_does_not_concern_the_figures() -> None:
    assert not FactSheet.concerns(CaseErased(case_id="case-0008", reason=ErasureReason.REQUEST, report_ids=("r1",)))
