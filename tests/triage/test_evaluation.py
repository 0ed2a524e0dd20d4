"""The model on the hand-written evaluation set: exact on high and critical, never more than one level under."""

from __future__ import annotations

import pytest

from services.triage import domain
from services.triage.domain import rank
from services.triage.policy import Policy
from shared.contracts.events import RiskLevel
from tests.triage.evaluation import Case, level_scores, load_cases, table

CASES = load_cases()


def test_the_evaluation_set_is_large_and_varied() -> None:
    assert len(CASES) >= 40
    assert len({c.id for c in CASES}) == len(CASES)
    assert {c.level for c in CASES} == set(RiskLevel)


def test_precision_and_recall_per_level(policy: Policy, capsys: pytest.CaptureFixture[str]) -> None:
    pairs = [(case.level, domain.assess(case.report, case.history, policy).level) for case in CASES]
    scores = level_scores(pairs)
    with capsys.disabled():
        print(f"\ntriage evaluation, {len(CASES)} cases, {policy.version}\n{table(scores)}")
    by_level = {s.level: s for s in scores}
    for level in (RiskLevel.CRITICAL, RiskLevel.HIGH):
        assert by_level[level].precision == 1.0, f"{level}: precision {by_level[level].precision:.0%}"
        assert by_level[level].recall == 1.0, f"{level}: recall {by_level[level].recall:.0%}"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_case_is_never_under_rated_by_more_than_one_level_and_routes_as_expected(case: Case, policy: Policy) -> None:
    assessment = domain.assess(case.report, case.history, policy)
    factors = ", ".join(f"{f.code}={f.weight:g}" for f in assessment.factors)
    assert rank(assessment.level) >= rank(case.level) - 1, f"{assessment.level} ({assessment.score:g}): {factors}"
    assert {r.recipient for r in assessment.routes} == case.routes, f"{assessment.level}: {factors}"
