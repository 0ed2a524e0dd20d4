"""Who sees which cases and in which view (pure)."""

from __future__ import annotations

import pytest

from shared.contracts.topics import Recipient
from shared.web.auth import Principal, Role
from shared.web.need_to_know import CaseScope, View, case_scope, case_sight
from shared.web.policy import CaseAccess

CASE = CaseAccess(
    filed_by_subs=["filer"], routes=["police", "om", "otwb", "burgemeester"], body_code="GM0344", municipality="GM0344"
)
UNROUTED = CaseAccess(filed_by_subs=["filer"], body_code="GM0344", municipality="GM0344")


def who(role: Role, **claims: str) -> Principal:
    return Principal(sub=claims.pop("sub", "someone"), role=role, **claims)


@pytest.mark.parametrize(
    ("principal", "view"),
    [
        (who(Role.REPORTER, sub="filer"), View.FILER),
        (who(Role.OTWB, sub="filer"), View.OTWB),  # routed too: the otwb view, not the filer's
        (who(Role.POLICE), View.POLICE),
        (who(Role.OM), View.OM),
        (who(Role.BURGEMEESTER, municipality="GM0344"), View.BURGEMEESTER),
        (who(Role.ADMIN, break_glass_reason="acute"), View.FULL),
        (who(Role.REPORTER), None),
        (who(Role.JENV), None),
        (who(Role.BZK), None),
        (who(Role.BURGEMEESTER), None),
        (who(Role.BURGEMEESTER, municipality="GM0363"), None),
        (who(Role.ADMIN), None),
    ],
)
def test_each_caller_reads_a_case_in_its_own_view_or_not_at_all(principal: Principal, view: View | None) -> None:
    sight = case_sight(principal, CASE)
    assert sight.view is view
    assert bool(sight) is (view is not None)


def test_a_filer_of_a_case_nobody_was_routed_to_sees_the_filer_view() -> None:
    assert case_sight(who(Role.OTWB, sub="filer"), UNROUTED).view is View.FILER


@pytest.mark.parametrize(
    "principal",
    [
        who(Role.REPORTER, sub="filer"),
        who(Role.REPORTER),
        who(Role.OTWB, sub="filer"),
        who(Role.POLICE),
        who(Role.JENV),
        who(Role.BZK),
        who(Role.BURGEMEESTER, municipality="GM0344"),
        who(Role.BURGEMEESTER, municipality="GM0363"),
        who(Role.BURGEMEESTER),
        who(Role.ADMIN),
        who(Role.ADMIN, break_glass_reason="audit"),
    ],
)
def test_the_scope_of_a_queue_admits_exactly_the_cases_the_caller_may_read(principal: Principal) -> None:
    scope = case_scope(principal)
    for case in (CASE, UNROUTED):
        assert scope.admits(case) is bool(case_sight(principal, case)), case


def test_a_burgemeester_without_a_municipality_and_bzk_list_nothing() -> None:
    assert case_scope(who(Role.BURGEMEESTER)).nothing
    assert case_scope(who(Role.BZK)).nothing
    assert case_scope(who(Role.POLICE)) == CaseScope(routed_to=Recipient.POLICE)


def test_a_filer_is_its_subject_within_its_organisation() -> None:
    griffie = CaseAccess(filers=[("desk-1", "Griffie Den Haag")], body_code="GM0518", municipality="GM0518")
    assert case_sight(who(Role.REPORTER, sub="desk-1", org="Griffie Den Haag"), griffie).view is View.FILER
    for stranger in (
        who(Role.REPORTER, sub="desk-1", org="Griffie Utrecht"),  # the same sub from another organisation's login
        who(Role.REPORTER, sub="desk-1"),  # the organisation claim dropped
        who(Role.REPORTER, sub="desk-2", org="Griffie Den Haag"),  # a colleague: the report is not theirs
    ):
        assert not case_sight(stranger, griffie)
        assert not case_scope(stranger).admits(griffie)
    assert case_scope(who(Role.REPORTER, sub="desk-1", org="Griffie Den Haag")).admits(griffie)
