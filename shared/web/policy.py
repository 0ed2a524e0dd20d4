"""Who may do what: one pure, deny-by-default decision for every protected HTTP action.

Need-to-know: a case is readable by those who filed it and by the parties it was routed to (triage's routes);
a burgemeester only for the own municipality; BZK never reads case content (aggregates only); an admin only with a
break-glass reason, which the audit log records; so does an admin who acknowledges for a recipient or erases a case.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from enum import StrEnum

from shared.web.auth import Principal, Role


class Action(StrEnum):
    REPORT_INCIDENT = "incident.report"
    READ_CASE = "case.read"
    ERASE_CASE = "case.erase"
    READ_AUDIT = "audit.read"
    READ_REPORTS = "reports.read"
    READ_NOTIFICATION = "notification.read"
    ACK_NOTIFICATION = "notification.ack"
    READ_AANGIFTE = "notification.aangifte"
    READ_NOTIFICATION_DETAILS = "notification.details"
    READ_OVERDUE_FOLLOWUPS = "followups.overdue"
    # The case workflow (intake): each also needs the case to be readable by the caller (see ``_workflow``).
    LIST_CASES = "case.list"
    ASSIGN_CASE = "case.assign"
    ADD_NOTE = "case.note"
    ASSESS_CASE = "case.assess"
    CLOSE_CASE = "case.close"
    REOPEN_CASE = "case.reopen"
    RECORD_FOLLOWUP = "case.followup"
    USE_DESK = "desk.use"
    READ_OWN_CASE = "case.read_own"


@dataclass(frozen=True, slots=True)
class CaseAccess:
    """The non-personal facts of a case that access depends on."""

    filed_by_subs: Collection[str] = ()
    filed_by_orgs: Collection[str] = ()
    filers: Collection[tuple[str, str | None]] = ()
    """Who filed its reports: (``sub``, ``org``) as the filer's token had them (intake always gives them; a fixture that
    gives ``filed_by_subs`` only is read as filers of no organisation)."""
    routes: Collection[str] = ()  # recipients triage routed the case to
    body_code: str | None = None
    municipality: str | None = None
    """The municipality whose burgemeester is the case's local authority (``shared/contracts/authority.py``)."""

    def filed_by(self, sub: str, org: str | None) -> bool:
        """Whether the caller filed a report of the case: the same subject AND the same organisation claim.

        A ``sub`` is unique only within its issuer's organisation (a brokered login: two griffies' identity providers
        may both issue ``desk-1``), so a token of another organisation with the same ``sub`` reads nothing of what this
        one filed; nor does a token that lost (or gained) the organisation it filed under.
        """
        return (sub, org) in (self.filers or [(s, None) for s in self.filed_by_subs])


@dataclass(frozen=True, slots=True)
class NotificationAccess:
    recipient: str
    municipality: str | None = None
    """For a burgemeester's notification: the municipality it was addressed to."""


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: str
    break_glass: bool = False
    own_reports_only: bool = False
    """Allowed on the caller's own reports of the case only (a filer; never the other filers' reports)."""
    extra: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return self.allowed


def _allow(reason: str, *, break_glass: bool = False) -> Decision:
    return Decision(True, reason, break_glass)


def _deny(reason: str) -> Decision:
    return Decision(False, reason)


# Which roles may attempt an action at all (before looking at the resource).
ROLE_ACTIONS: dict[Action, frozenset[Role]] = {
    Action.REPORT_INCIDENT: frozenset({Role.REPORTER, Role.OTWB}),
    Action.READ_CASE: frozenset(
        {Role.REPORTER, Role.OTWB, Role.POLICE, Role.OM, Role.JENV, Role.BURGEMEESTER, Role.CCV, Role.ADMIN}
    ),
    Action.ERASE_CASE: frozenset({Role.REPORTER, Role.OTWB, Role.ADMIN}),
    Action.READ_AUDIT: frozenset({Role.ADMIN}),
    Action.READ_REPORTS: frozenset({Role.BZK, Role.JENV, Role.ADMIN}),
    Action.READ_NOTIFICATION: frozenset(
        {Role.POLICE, Role.OM, Role.JENV, Role.BZK, Role.BURGEMEESTER, Role.OTWB, Role.CCV, Role.ADMIN}
    ),
    Action.ACK_NOTIFICATION: frozenset(
        {Role.POLICE, Role.OM, Role.JENV, Role.BZK, Role.BURGEMEESTER, Role.OTWB, Role.CCV, Role.ADMIN}
    ),
    Action.READ_AANGIFTE: frozenset({Role.POLICE, Role.OM, Role.ADMIN}),
    # The whole notification (its topic carries only a notice): each recipient its own; BZK's holds nothing personal.
    Action.READ_NOTIFICATION_DETAILS: frozenset(
        {Role.POLICE, Role.OM, Role.JENV, Role.BZK, Role.BURGEMEESTER, Role.OTWB, Role.CCV, Role.ADMIN}
    ),
    Action.READ_OVERDUE_FOLLOWUPS: frozenset({Role.POLICE, Role.OM, Role.ADMIN}),
    Action.LIST_CASES: frozenset(
        {Role.REPORTER, Role.OTWB, Role.POLICE, Role.OM, Role.JENV, Role.BURGEMEESTER, Role.CCV, Role.ADMIN}
    ),
    # The parties that act on a case; the reporter follows it, JenV and BZK steer on aggregates.
    Action.ASSIGN_CASE: frozenset({Role.OTWB, Role.POLICE, Role.OM, Role.BURGEMEESTER}),
    Action.ADD_NOTE: frozenset({Role.OTWB, Role.POLICE, Role.OM, Role.BURGEMEESTER}),
    # Who decides on the risk: police and OM, and the burgemeester as the authority for protective measures in the
    # decentral domain (docs/domain.md); OTWB supports, it does not rate.
    Action.ASSESS_CASE: frozenset({Role.POLICE, Role.OM, Role.BURGEMEESTER}),
    Action.CLOSE_CASE: frozenset({Role.OTWB, Role.POLICE, Role.OM}),
    Action.REOPEN_CASE: frozenset({Role.OTWB, Role.POLICE, Role.OM}),
    # Each party its own kinds (services/intake/work.py FOLLOWUP_ROLES): support (OTWB, CCV), justice and protection.
    Action.RECORD_FOLLOWUP: frozenset({Role.OTWB, Role.POLICE, Role.OM, Role.BURGEMEESTER, Role.CCV}),
    # The OTWB duty officer's page (intake /desk); each action on it is authorised as over the API as well.
    Action.USE_DESK: frozenset({Role.OTWB}),
    # The reporter's own page (intake /reporter/cases/{id}): the roles that file; each is shown only what it filed
    # (the case read decides, and only its filer view is a page).
    Action.READ_OWN_CASE: frozenset({Role.REPORTER, Role.OTWB}),
}

WORKFLOW_ACTIONS = frozenset(
    {
        Action.LIST_CASES,
        Action.ASSIGN_CASE,
        Action.ADD_NOTE,
        Action.ASSESS_CASE,
        Action.CLOSE_CASE,
        Action.REOPEN_CASE,
        Action.RECORD_FOLLOWUP,
    }
)

_ROUTED_ROLES = {Role.POLICE, Role.OM, Role.JENV, Role.OTWB, Role.CCV}
_NOTIFICATION_ACTIONS = frozenset(
    {Action.READ_NOTIFICATION, Action.ACK_NOTIFICATION, Action.READ_AANGIFTE, Action.READ_NOTIFICATION_DETAILS}
)


def may_attempt(principal: Principal, action: Action) -> Decision:
    """The role-level gate: deny unless the role is listed for the action."""
    if principal.role in ROLE_ACTIONS.get(action, frozenset()):
        return _allow(f"role {principal.role.value} may {action.value}")
    return _deny(f"role {principal.role.value} may not {action.value}")


def decide(
    principal: Principal,
    action: Action,
    resource: CaseAccess | NotificationAccess | None = None,
) -> Decision:
    """Deny by default; allow only what a rule below grants."""
    gate = may_attempt(principal, action)
    if not gate:
        return gate
    role = principal.role
    if action in (Action.READ_CASE, Action.ERASE_CASE):
        if not isinstance(resource, CaseAccess):
            return _deny("no case to decide on")
        return _case(principal, action, resource)
    if action in WORKFLOW_ACTIONS:
        if not isinstance(resource, CaseAccess):
            return _deny("no case to decide on")
        # Scoped exactly like a read: only a case the caller may read can be listed or acted on.
        return _case(principal, Action.READ_CASE, resource)
    if action in _NOTIFICATION_ACTIONS:
        if not isinstance(resource, NotificationAccess):
            return _deny("no notification to decide on")
        if role is Role.ADMIN:
            if action is not Action.READ_NOTIFICATION:  # case content, or acting for a recipient
                return _break_glass(principal)
            return _allow("admin manages deliveries")
        if role.value != resource.recipient:
            return _deny("the notification went to another recipient")
        if role is Role.BURGEMEESTER and (
            not principal.municipality or principal.municipality != resource.municipality
        ):
            return _deny("the notification went to the burgemeester of another municipality")
        return _allow("the notification went to this role")
    return gate


def _break_glass(
    principal: Principal,
    refusal: str = "admin reads case content or acts for a recipient only with an X-Break-Glass-Reason",
) -> Decision:
    if principal.break_glass_reason:
        return _allow("admin break-glass", break_glass=True)
    return _deny(refusal)


def _case(principal: Principal, action: Action, case: CaseAccess) -> Decision:
    role = principal.role
    filed = case.filed_by(principal.sub, principal.org)
    if action is Action.ERASE_CASE:
        if role is Role.ADMIN:  # the whole case, irreversible, on someone else's behalf: only with a reason
            return _break_glass(principal, "admin erases a case only with an X-Break-Glass-Reason")
        if role in (Role.REPORTER, Role.OTWB) and filed:
            return Decision(True, "a filer erases the reports it filed", own_reports_only=True)
        return _deny("only a filer (its own reports) or an admin (the whole case) erases")
    if role is Role.ADMIN:
        return _break_glass(principal)
    if role in (Role.REPORTER, Role.OTWB) and filed:
        return _allow("filed by the caller")
    if role in _ROUTED_ROLES and role.value in case.routes:
        return _allow(f"routed to {role.value}")
    if role is Role.BURGEMEESTER:
        if Role.BURGEMEESTER.value not in case.routes:
            return _deny("not routed to the burgemeester")
        if principal.municipality and principal.municipality == case.municipality:
            return _allow("routed to the burgemeester of this municipality")
        return _deny("another municipality")
    return _deny("not filed by nor routed to the caller")
