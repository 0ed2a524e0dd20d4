"""The assessment document: what the codec writes reads back as the same aggregate, older documents included."""

from __future__ import annotations

from services.triage.assessment import CaseAssessment, Incident, Lane
from services.triage.domain import Histories
from services.triage.policy import Policy
from services.triage.service import facts_of
from services.triage.store import AssessmentCodec
from shared.contracts.events import IncidentReported, RiskLevel
from tests.triage.test_service import KEY, report


def test_an_assessment_reads_back_as_written(policy: Policy) -> None:
    case = CaseAssessment("case-00000001")
    event = report(case.case_id)
    case.take_reports([_incident(event)], Histories({}), policy, lane=Lane.URGENT)
    codec = AssessmentCodec()
    document = {**codec.to_document(case), "_id": case.case_id, "version": 1}
    again = codec.from_document(document)
    assert again == case
    assert again.redelivered(event.event_id, Lane.URGENT) == case.decisions[-1]
    assert (document["assessment_no"], document["level"]) == (1, "high")


def test_a_document_of_the_earlier_shape_gives_its_state_and_republishes_nothing(policy: Policy) -> None:
    case = CaseAssessment("case-00000002")
    event = report(case.case_id)
    decision = case.take_reports([_incident(event)], Histories({}), policy, lane=Lane.MAIN)
    assert decision is not None
    triaged = decision.triaged
    earlier = {
        "_id": case.case_id,
        "version": 3,
        "processed": [event.event_id],
        "outbox": [],
        "assessment_no": 2,
        "level": triaged.level.value,
        "computed_level": triaged.level.value,
        "score": triaged.score,
        "policy_version": triaged.policy_version,
        "factors": [f.model_dump(mode="json") for f in triaged.factors],
        "facts": triaged.facts.model_dump(mode="json"),
    }
    read = AssessmentCodec().from_document(earlier)
    assert read.current is not None
    assert (read.current.assessment_no, read.current.level) == (2, RiskLevel.HIGH)
    assert read.current.factors == triaged.factors
    assert event.event_id in read.applied
    assert read.redelivered(event.event_id, Lane.MAIN) is None


def _incident(event: IncidentReported) -> Incident:
    return Incident(event, facts_of(event, pseudonym_key=KEY))
