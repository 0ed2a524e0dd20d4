"""The synthetic reports of the demo and the bench look like the country they describe."""

import random

from shared.contracts.incident import IncidentReport
from weerbaar import demo


def _bodies(kind: str, count: int = 5_000) -> set[str]:
    rng = random.Random(1)
    reports = (IncidentReport.model_validate(demo.incident(rng)) for _ in range(count))
    return {r.office_holder.body.code for r in reports if r.office_holder.body.kind == kind}


def test_synthetic_reports_name_no_more_gemeenten_than_the_netherlands_has() -> None:
    # each gemeente's burgemeester has a topic of its own: a bench over ~1,500 invented ones measured topic creation
    assert 300 <= len(_bodies("gemeente")) <= 342


def test_synthetic_reports_name_only_the_twelve_provinces_and_a_realistic_number_of_waterschappen() -> None:
    assert _bodies("provincie") <= {f"PV{n}" for n in range(20, 32)}
    assert len(_bodies("waterschap")) <= 21
