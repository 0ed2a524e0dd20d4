"""What disclosure control costs on demo data: ``python -m tests.reporting.utility_cost [--count N] [--seed S]``.

The incidents are made by ``weerbaar demo``'s own generator (``weerbaar.demo.incident``), folded into facts the way
triage and reporting do, and tabulated for every table of the stats topic with the old per-table suppression and with
the consistent method. Printed: cells, cells without a figure (suppressed, or not yet published because their period
is open), and how far the rounded counts lie from the true ones.
"""

from __future__ import annotations

import argparse
import random
from datetime import UTC, datetime

from services.reporting import queries
from services.reporting.disclosure import Method, Rounding
from services.reporting.domain import Disclosure
from services.reporting.facts import Fact, FactSheet
from services.reporting.population import load_population
from services.reporting.publishing import STANDARD_BREAKDOWNS
from services.triage.service import facts_of
from shared.contracts.events import CaseTriaged, IncidentReported, RiskLevel, new_id
from shared.contracts.incident import IncidentReport
from weerbaar.demo import incident

EXACT = Disclosure(threshold=1, rounding=Rounding(b"", 1), method=Method.PER_TABLE)


def demo_facts(count: int, seed: int, now: datetime) -> list[Fact]:
    rng = random.Random(seed)
    facts = []
    for _ in range(count):
        report = IncidentReport.model_validate(incident(rng, now=now))
        event = IncidentReported(case_id=new_id(), report=report, occurred=now)
        sheet = FactSheet(event.case_id)
        level = rng.choice(list(RiskLevel))
        facts_ = facts_of(event, pseudonym_key=f"k{rng.randint(0, count)}".encode())  # repeat victims, like the demo
        sheet.take(
            CaseTriaged(
                case_id=event.case_id,
                assessment_no=1,
                policy_version="demo",
                level=level,
                score=1.0,
                factors=(),
                routes=(),
                facts=facts_,
            )
        )
        fact = sheet.fact()
        assert fact is not None
        facts.append(fact)
    return facts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=25, help="incidents (weerbaar demo's default is 25)")
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--published-on", default=None, help="YYYY-MM-DD to tabulate on (default: the demo's day)")
    args = parser.parse_args()
    now = datetime(2026, 12, 3, 12, tzinfo=UTC)
    facts = demo_facts(args.count, args.seed, now)
    if args.published_on:
        now = datetime.fromisoformat(args.published_on).replace(tzinfo=UTC)
    population = load_population(None)
    rounding = Rounding(b"utility-cost", 5)
    old = Disclosure(threshold=5, rounding=rounding, method=Method.PER_TABLE)
    new = Disclosure(threshold=5, rounding=rounding, method=Method.CONSISTENT, lag_days=7)
    totals = {"cells": 0, "old_hidden": 0, "new_open": 0, "new_hidden": 0, "new_shown": 0, "error": 0.0}
    for breakdown in STANDARD_BREAKDOWNS:
        exact = {
            tuple(sorted(c.dims.items())): c
            for c in queries.tabulate(facts, breakdown, disclosure=EXACT, population=None)
        }
        before = queries.tabulate(facts, breakdown, disclosure=old, population=population, now=now)
        after = {
            tuple(sorted(c.dims.items())): c
            for c in queries.tabulate(facts, breakdown, disclosure=new, population=population, now=now)
        }
        totals["cells"] += len(before)
        totals["old_hidden"] += sum(c.suppressed for c in before)
        for cell in before:
            key = tuple(sorted(cell.dims.items()))
            published = after.get(key)
            if published is None:
                totals["new_open"] += 1
            elif published.suppressed:
                totals["new_hidden"] += 1
            else:
                totals["new_shown"] += 1
                truth = exact[key]
                totals["error"] += abs((published.incidents or 0) - (truth.incidents or 0))
    shown = totals["new_shown"] or 1
    print(
        f"demo incidents: {args.count} (seed {args.seed}, within 120 days before 2026-12-03), tabulated {now:%Y-%m-%d}"
    )
    print(f"cells in the stats topic's tables: {totals['cells']:.0f}")
    print(f"old per-table suppression: {totals['old_hidden']:.0f} without a figure")
    print(
        f"consistent: {totals['new_open']:.0f} not yet published (open period), {totals['new_hidden']:.0f} suppressed, "
        f"{totals['new_shown']:.0f} shown with a mean rounding error of {totals['error'] / shown:.2f} incidents"
    )


if __name__ == "__main__":
    main()
