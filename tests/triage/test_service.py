"""Triage's use cases with in-memory fakes: one save per case per batch, redelivery, both lanes, follow-ups."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from services.triage.assessment import Lane
from services.triage.errors import CaseNotYetAssessed
from services.triage.policy import Policy
from services.triage.service import Triage
from services.triage.store import History
from shared.contracts.events import (
    CaseFollowup,
    CaseTriaged,
    FollowupKind,
    IncidentReported,
    RiskLevel,
    erased_office_holder_ref,
)
from shared.contracts.incident import IncidentReport
from shared.contracts.topics import CASE_TRIAGED, CASE_TRIAGED_URGENT, INCIDENT_URGENT
from shared.runtime.errors import NotYetVisible, Unavailable
from tests.support.samples import body
from tests.triage.evaluation import load_cases
from tests.triage.fakes import FakeAssessments, FakeHistoryStore, RecordingPublisher
from tests.triage.test_retriage import MILD

KEY = b"unit-test-pseudonym-key-32-bytes"


@dataclass
class World:
    triage: Triage
    assessments: FakeAssessments
    history_store: FakeHistoryStore
    history: History
    published: RecordingPublisher

    @property
    def journal(self) -> list[str]:
        return self.published.journal


def started(
    policy: Policy, assessments: FakeAssessments, history_store: FakeHistoryStore, published: RecordingPublisher
) -> World:
    """Triage as a process starts: nothing kept in memory yet, the store and the broker as they are."""
    history = History(history_store)
    triage = Triage(
        assessments=assessments,
        history=history,
        publisher=published,
        policy=policy,
        pseudonym_key=KEY,
        source="/weerbaar/triage",
    )
    return World(triage, assessments, history_store, history, published)


@pytest.fixture
def world(policy: Policy) -> World:
    journal: list[str] = []
    return started(policy, FakeAssessments(journal), FakeHistoryStore(journal), RecordingPublisher(journal))


def report(case_id: str, *, holder: str = "A. Voorbeeld", days_later: int = 0, **changes: Any) -> IncidentReported:
    parsed = IncidentReport.model_validate(body(**{"office_holder.name": holder, **changes}))
    incident = parsed.incident.model_copy(update={"occurred_at": parsed.incident.occurred_at + timedelta(days_later)})
    return IncidentReported(case_id=case_id, report=parsed.model_copy(update={"incident": incident}))


def mild(case_id: str, **kwargs: Any) -> IncidentReported:
    return report(case_id, **MILD, **kwargs)


def case_id() -> str:
    return f"case-{uuid.uuid4().hex[:12]}"


def breached(case: str) -> CaseFollowup:
    return CaseFollowup(
        case_id=case, kind=FollowupKind.MEASURE_TAKEN, organisation="OM", outcome="contactverbod overtreden"
    )


async def test_reports_of_a_new_case_in_one_batch_are_decided_once_and_inserted_without_a_read(world: World) -> None:
    case = case_id()
    reports = [mild(case, days_later=n) for n in range(3)]
    await world.triage.take_reports(case, reports, lane=Lane.MAIN)
    assert (world.assessments.loads[case], world.assessments.saves[case]) == (0, 1)
    (decision,) = world.published.decisions(CASE_TRIAGED)
    assert decision.assessment_no == 1
    # the last report saw the two before it as the office holder's history
    assert {"prior_incident", "repeated_contact"} <= {f.code for f in decision.factors}
    assert world.history_store.writes == 1
    (entries,) = world.history_store.entries_by_holder.values()
    assert set(entries) == {r.event_id for r in reports}


async def test_a_redelivered_batch_publishes_the_same_decision_without_a_second_assessment(world: World) -> None:
    case = case_id()
    reports = [mild(case), mild(case, days_later=1)]
    world.published.failures = 1  # saved, then the broker went away: the batch is not committed
    with pytest.raises(Unavailable):
        await world.triage.take_reports(case, reports, lane=Lane.MAIN)
    assert world.history_store.writes == 0  # the history waits for the decision to be out
    await world.triage.take_reports(case, reports, lane=Lane.MAIN)
    for event in reports:  # and the one-by-one path after a failed batch
        await world.triage.take_reports(case, [event], lane=Lane.MAIN)
    decisions = world.published.decisions(CASE_TRIAGED)
    assert {d.event_id for d in decisions} == {decisions[0].event_id}
    assert decisions[0].assessment_no == 1
    assert world.assessments.saves[case] == 1
    (entries,) = world.history_store.entries_by_holder.values()
    assert set(entries) == {r.event_id for r in reports}


async def test_after_a_stop_between_publishing_and_the_history_the_redelivery_writes_the_history(
    world: World, policy: Policy
) -> None:
    case = case_id()
    reports = [mild(case), mild(case, days_later=1)]
    world.history_store.failures = 1  # saved and published; the process stops before the history is written
    with pytest.raises(Unavailable):
        await world.triage.take_reports(case, reports, lane=Lane.MAIN)
    restarted = started(policy, world.assessments, world.history_store, world.published)
    await restarted.triage.take_reports(case, reports, lane=Lane.MAIN)
    (entries,) = world.history_store.entries_by_holder.values()
    assert set(entries) == {r.event_id for r in reports}
    assert [e.level for e in entries.values()] == [RiskLevel.LOW, RiskLevel.LOW]
    assert world.assessments.saves[case] == 1
    assert len({d.event_id for d in world.published.decisions(CASE_TRIAGED)}) == 1


async def test_a_report_into_a_case_this_process_has_not_seen_is_assessed_as_stored(
    world: World, policy: Policy
) -> None:
    case = case_id()
    await world.triage.take_reports(case, [report(case)], lane=Lane.URGENT)
    restarted = started(policy, world.assessments, world.history_store, world.published)
    await restarted.triage.take_reports(case, [mild(case, days_later=1)], lane=Lane.MAIN)
    second = world.published.decisions(CASE_TRIAGED)[-1]
    assert (second.assessment_no, second.level, second.level_held) == (2, RiskLevel.HIGH, True)
    assert "prior_incident" in {f.code for f in second.factors}  # the first report, and only once


async def test_the_acute_lane_publishes_before_the_history_is_written(world: World) -> None:
    case = case_id()
    await world.triage.take_reports(case, [report(case)], lane=Lane.URGENT)
    assert world.journal == ["history read", "assessment inserted", "published", "history written"]


async def test_an_acute_report_on_the_urgent_lane_goes_down_the_acute_lane_at_once(world: World) -> None:
    case = case_id()
    await world.triage.take_reports(case, [report(case)], lane=Lane.URGENT)
    (urgent,) = world.published.decisions(CASE_TRIAGED_URGENT)
    (main,) = world.published.decisions(CASE_TRIAGED)
    assert urgent.level is RiskLevel.HIGH
    assert urgent.event_id == main.event_id
    assert world.published.on(INCIDENT_URGENT) == []  # intake's screen saw it coming: the report is there


async def test_the_main_lane_copy_of_an_urgent_report_publishes_nothing_again(world: World) -> None:
    case = case_id()
    acute = report(case)
    await world.triage.take_reports(case, [acute], lane=Lane.URGENT)
    sent = len(world.published.sent)
    await world.triage.take_reports(case, [acute], lane=Lane.MAIN)
    assert len(world.published.sent) == sent
    assert world.assessments.saves[case] == 1


async def test_a_report_the_screen_missed_is_copied_to_the_acute_lane_ahead_of_its_decision(world: World) -> None:
    (missed,) = [c for c in load_cases() if c.id == "dox-01-house-photo"]
    case = case_id()
    event = IncidentReported(case_id=case, report=missed.report)
    await world.triage.take_reports(case, [event], lane=Lane.MAIN)
    topics = [r.topic for r in world.published.sent]
    assert topics[0] == INCIDENT_URGENT
    assert set(topics[1:]) == {CASE_TRIAGED_URGENT, CASE_TRIAGED}
    assert world.published.reports(INCIDENT_URGENT)[0].event_id == event.event_id
    # triage's own urgent consumer then reads that copy: applied on the main lane, nothing more is published
    await world.triage.take_reports(case, [event], lane=Lane.URGENT)
    assert len(world.published.sent) == 3


async def test_a_decisive_followup_reassesses_and_raises_the_level(world: World) -> None:
    case = case_id()
    calm: dict[str, Any] = {"incident.description": "Scheldpartij"}
    await world.triage.take_reports(case, [report(case, **calm)], lane=Lane.MAIN)
    first = world.published.decisions(CASE_TRIAGED)[-1]
    informational = CaseFollowup(case_id=case, kind=FollowupKind.AANGIFTE_REGISTERED, organisation="Politie")
    followup = breached(case)
    await world.triage.take_followups(case, [informational, followup, followup])
    second = world.published.decisions(CASE_TRIAGED)[-1]
    assert (second.assessment_no, second.trigger, second.previous_level) == (2, "followup", first.level)
    assert "measure_breached" in {f.code for f in second.factors}
    assert second.score == first.score + 30
    assert world.assessments.saves[case] == 2
    await world.triage.take_followups(case, [followup])  # delivered again: the same decision, no third assessment
    assert {d.event_id for d in world.published.decisions(CASE_TRIAGED)[1:]} == {second.event_id}
    assert world.assessments.saves[case] == 2


async def test_informational_followups_load_nothing(world: World) -> None:
    case = case_id()
    await world.triage.take_followups(
        case, [CaseFollowup(case_id=case, kind=FollowupKind.SUSPECT_IDENTIFIED, organisation="Politie")]
    )
    assert world.assessments.loads[case] == 0
    assert world.published.sent == []


async def test_a_followup_before_the_first_assessment_waits_for_it(world: World) -> None:
    case = case_id()
    with pytest.raises(CaseNotYetAssessed) as raised:
        await world.triage.take_followups(case, [breached(case)])
    assert isinstance(raised.value, NotYetVisible)  # retried patiently, woken when the report is handled
    assert case not in world.assessments.documents


async def test_a_report_after_a_followup_keeps_the_higher_level(world: World) -> None:
    case = case_id()
    await world.triage.take_reports(case, [report(case)], lane=Lane.URGENT)
    await world.triage.take_followups(case, [breached(case)])
    await world.triage.take_reports(case, [mild(case, days_later=1)], lane=Lane.MAIN)
    third = world.published.decisions(CASE_TRIAGED)[-1]
    assert (third.assessment_no, third.level, third.level_held) == (3, RiskLevel.CRITICAL, True)


async def test_the_history_of_an_office_holder_is_read_once_and_counts_for_the_next_case(world: World) -> None:
    first, second = case_id(), case_id()
    await world.triage.take_reports(first, [mild(first)], lane=Lane.MAIN)
    await world.triage.take_reports(second, [mild(second, days_later=3)], lane=Lane.MAIN)
    assert world.history_store.reads == 1
    assert world.history_store.writes == 2
    assert "prior_incident" in {f.code for f in world.published.decisions(CASE_TRIAGED)[-1].factors}
    world.history.forget()  # partitions moved: read again
    third = case_id()
    await world.triage.take_reports(third, [mild(third, days_later=5)], lane=Lane.MAIN)
    assert world.history_store.reads == 2


async def test_a_failed_save_writes_and_keeps_nothing_of_the_history_it_would_have_added(world: World) -> None:
    case = case_id()

    async def unreachable(aggregate_id: str, aggregate: object) -> None:
        raise Unavailable("store unreachable (fake)")

    world.assessments.add = unreachable  # type: ignore[method-assign]
    with pytest.raises(Unavailable):
        await world.triage.take_reports(case, [mild(case)], lane=Lane.MAIN)
    assert (world.history_store.writes, world.published.sent) == (0, [])
    del world.assessments.add  # the store is back
    await world.triage.take_reports(case, [mild(case)], lane=Lane.MAIN)
    (decision,) = world.published.decisions(CASE_TRIAGED)
    assert "prior_incident" not in {f.code for f in decision.factors}  # the report that was not saved is not kept
    assert world.history_store.writes == 1


async def test_only_the_newest_decision_of_each_lane_is_kept(world: World) -> None:
    case = case_id()
    await world.triage.take_reports(case, [report(case)], lane=Lane.URGENT)
    await world.triage.take_reports(case, [mild(case, days_later=1)], lane=Lane.MAIN)
    for _ in range(3):
        await world.triage.take_followups(case, [breached(case)])
    stored = world.assessments.stored(case)
    assert [(d.lane, d.triaged.assessment_no) for d in stored.decisions] == [
        (Lane.URGENT, 1),
        (Lane.MAIN, 2),
        (Lane.FOLLOWUP, 5),
    ]


async def test_an_older_decision_published_again_is_followed_by_the_current_one_the_log_keeps_last(
    world: World,
) -> None:
    case = case_id()
    urgent = report(case)
    await world.triage.take_reports(case, [urgent], lane=Lane.URGENT)
    await world.triage.take_reports(case, [mild(case, days_later=1)], lane=Lane.MAIN)
    await world.triage.take_reports(case, [urgent], lane=Lane.URGENT)  # redelivered after the main lane decided
    assert [d.assessment_no for d in world.published.decisions(CASE_TRIAGED)] == [1, 2, 1, 2]
    assert [d.assessment_no for d in world.published.decisions(CASE_TRIAGED_URGENT)] == [1, 2, 1], "not again there"


async def test_an_erased_case_leaves_its_office_holders_history_and_keeps_no_pseudonym(world: World) -> None:
    erased, other = case_id(), case_id()
    holder = f"E. Rased-{uuid.uuid4().hex[:6]}"
    await world.triage.take_reports(erased, [mild(erased, holder=holder)], lane=Lane.MAIN)
    await world.triage.take_reports(other, [mild(other, holder=holder, days_later=1)], lane=Lane.MAIN)
    (ref,) = world.assessments.stored(erased).pseudonyms()
    await world.triage.forget_case(erased)
    await world.triage.forget_case(erased)  # redelivered: nothing more to do
    assert {e.case_id for e in world.history_store.entries_by_holder[ref].values()} == {other}
    assert world.assessments.stored(erased).pseudonyms() == set()
    stored = world.assessments.documents[erased]
    assert ref not in str(stored)
    assert world.assessments.stored(erased).current is not None, "the decision's codes and level stay"
    # a person's later incident no longer counts the erased one in this process either
    assert erased not in {e.case_id for e in (await world.history._entries(ref)).values()}


async def test_an_erased_case_s_latest_decision_is_published_again_without_the_pseudonym(world: World) -> None:
    case = case_id()
    await world.triage.take_reports(case, [mild(case)], lane=Lane.MAIN)
    for _ in range(2):
        await world.triage.take_followups(case, [breached(case)])
    decisions = world.published.decisions(CASE_TRIAGED)
    (ref,) = {d.facts.office_holder_ref for d in decisions}
    await world.triage.forget_case(case)
    await world.triage.forget_case(case)  # redelivered: the copy again (a crash may have cut the first one short)
    *_, before, copy, again = world.published.on(CASE_TRIAGED)
    assert copy.key == before.key == case.encode(), "compaction keeps a case's last record: the copy must be it"
    redacted = CaseTriaged.model_validate_json(copy.value)
    latest = decisions[-1]
    assert redacted.event_id == latest.event_id, "a decision every consumer has seen, not a new one"
    assert redacted.facts.office_holder_ref == erased_office_holder_ref(case) != ref
    assert redacted.model_copy(update={"facts": latest.facts}) == latest, "only the pseudonym differs"
    assert again.value == copy.value
    assert ref.encode() not in copy.value


async def test_an_erasure_whose_copy_the_broker_refused_publishes_it_when_delivered_again(world: World) -> None:
    case = case_id()
    await world.triage.take_reports(case, [mild(case)], lane=Lane.MAIN)
    world.published.failures = 1  # the assessment is saved without the pseudonym, then the broker is away
    with pytest.raises(Unavailable):
        await world.triage.forget_case(case)  # not committed: the consumer takes the erasure again
    assert world.assessments.stored(case).pseudonyms() == set()
    await world.triage.forget_case(case)
    *_, copy = world.published.decisions(CASE_TRIAGED)
    assert copy.of_erased_case, "the copy is on the log after all"


async def test_a_filers_withdrawal_of_some_reports_leaves_the_assessment_as_it_is(world: World) -> None:
    case = case_id()
    await world.triage.take_reports(case, [mild(case)], lane=Lane.MAIN)
    before = dict(world.assessments.documents[case])
    await world.triage.forget_case(case, ("some-report-id",))
    assert world.assessments.documents[case] == before
