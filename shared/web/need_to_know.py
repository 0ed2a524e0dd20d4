"""Need-to-know: which cases a caller may see, and which view of a case it gets. The one place that decides.

Every read of a case goes through here: intake's case file (``GET /v1/cases/{id}``), the case queues (a store turns
``case_scope`` into its query) and, through ``View``, the notification contracts (a routed role's view of a report
has exactly the fields of that role's notification). Pure: no I/O.

- ``case_sight(principal, case)``: may the caller read this case, and in which ``View``.
- ``case_scope(principal)``: the cases a caller may list at all (the same rules, as criteria for a query).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from shared.contracts.projections import CONTENT_FIELDS
from shared.contracts.topics import Recipient
from shared.web.auth import Principal, Role
from shared.web.policy import Action, CaseAccess, Decision, decide

__all__ = ["CASE_FIELDS", "REPORT_FIELDS", "CaseScope", "Sight", "View", "case_scope", "case_sight"]


class View(StrEnum):
    """What a caller sees of a case it may read."""

    FILER = "filer"
    """The reports the caller filed (as filed), the case's status and guidance; nothing of other filers' reports."""
    POLICE = "police"
    OM = "om"
    JENV = "jenv"
    BURGEMEESTER = "burgemeester"
    OTWB = "otwb"
    CCV = "ccv"
    FULL = "full"
    """The whole case file: an admin with a break-glass reason (audited)."""

    @property
    def recipient(self) -> Recipient | None:
        """The notification contract whose fields this view shows of each report (None: filer and full)."""
        return None if self in (View.FILER, View.FULL) else Recipient(self.value)


_ROUTED_CASE = frozenset({"case_id", "view", "status", "level", "policy_version", "reasons", "notification", "reports"})
_JUSTICE = frozenset({"followups", "links"})
"""Police, OM and JenV also see the follow-ups and the linked cases (same office holder or perpetrator)."""

_WORK = frozenset({"assignments", "notes", "decisions", "recommended_level", "closure"})
"""The parties that act on a case (police, OM, burgemeester, OTWB) share its working file: who handles which part,
the notes, the human decisions on the level beside triage's recommendation, and why it was closed."""

CASE_FIELDS: dict[View, frozenset[str]] = {
    View.FILER: frozenset({"case_id", "view", "status", "guidance", "reports"}),
    View.POLICE: _ROUTED_CASE | _JUSTICE | _WORK,
    View.OM: _ROUTED_CASE | _JUSTICE | _WORK,
    View.JENV: _ROUTED_CASE | _JUSTICE,
    View.BURGEMEESTER: _ROUTED_CASE | _WORK,
    View.OTWB: _ROUTED_CASE | _WORK,
    View.CCV: _ROUTED_CASE,
}
"""The top-level fields of each view of a case (``View.FULL`` is the whole case file)."""

REPORT_KEYS = frozenset({"report_id", "received_at", "erased"})
REPORT_FIELDS: dict[View, frozenset[str]] = {
    view: REPORT_KEYS | CONTENT_FIELDS[recipient] for view in View if (recipient := view.recipient) is not None
}
"""What a routed view shows of each report: exactly its recipient's notification contract (once erased: the keys)."""

ROUTED_VIEWS: dict[Role, View] = {
    Role.POLICE: View.POLICE,
    Role.OM: View.OM,
    Role.JENV: View.JENV,
    Role.BURGEMEESTER: View.BURGEMEESTER,
    Role.OTWB: View.OTWB,
    Role.CCV: View.CCV,
}
"""A role that reads a case because triage routed it there sees that recipient's view."""


@dataclass(frozen=True, slots=True)
class Sight:
    """Whether a caller may read a case, why, and in which view."""

    decision: Decision
    view: View | None

    def __bool__(self) -> bool:
        return bool(self.decision)


def case_sight(principal: Principal, case: CaseAccess) -> Sight:
    """The policy's decision on reading ``case``, and the caller's view of it when allowed.

    A routed role sees its recipient's view, also of a case it filed (OTWB filing on behalf); a filer that was not
    routed sees only its own reports; an admin with a break-glass reason sees the whole file.
    """
    decision = decide(principal, Action.READ_CASE, case)
    if not decision:
        return Sight(decision, None)
    role = principal.role
    if role is Role.ADMIN:
        return Sight(decision, View.FULL)
    routed = ROUTED_VIEWS.get(role)
    if routed is not None and role.value in case.routes:
        return Sight(decision, routed)
    return Sight(decision, View.FILER)


@dataclass(frozen=True, slots=True)
class CaseScope:
    """The cases a caller may list: those matching any criterion set here; none set means no case at all.

    ``routed_to`` with ``municipality``: routed to that recipient for that municipality only (the burgemeester).
    """

    everything: bool = False
    filed_by: str | None = None
    filed_by_org: str | None = None
    """With ``filed_by``: the organisation the caller filed under (``CaseAccess.filed_by``)."""
    routed_to: Recipient | None = None
    municipality: str | None = None

    @property
    def nothing(self) -> bool:
        return not self.everything and self.filed_by is None and self.routed_to is None

    def admits(self, case: CaseAccess, *, sub: str | None = None) -> bool:
        """Whether ``case`` is in scope (the same answer ``case_sight`` gives; for fakes and checks)."""
        if self.everything:
            return True
        if self.filed_by is not None and case.filed_by(self.filed_by, self.filed_by_org):
            return True
        if self.routed_to is None or self.routed_to.value not in case.routes:
            return False
        return self.routed_to is not Recipient.BURGEMEESTER or (
            self.municipality is not None and self.municipality == case.municipality
        )


def case_scope(principal: Principal) -> CaseScope:
    """Which cases ``principal`` may list: what it filed, what was routed to its role (its municipality's only)."""
    role = principal.role
    if role is Role.ADMIN:
        return CaseScope(everything=principal.break_glass_reason is not None)
    filed = principal.sub if role in (Role.REPORTER, Role.OTWB) else None
    if role is Role.BURGEMEESTER:
        if not principal.municipality:
            return CaseScope()  # a burgemeester token without a municipality reads nothing
        return CaseScope(routed_to=Recipient.BURGEMEESTER, municipality=principal.municipality)
    org = principal.org if filed else None
    if role in ROUTED_VIEWS:
        return CaseScope(filed_by=filed, filed_by_org=org, routed_to=Recipient(role.value))
    return CaseScope(filed_by=filed, filed_by_org=org)
