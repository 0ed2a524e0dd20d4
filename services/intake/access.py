"""Which cases a caller may see and act on, for the workflow and the queue: the need-to-know rules of
``shared/web/need_to_know.py`` (listing) and ``shared/web/policy.py`` (acting), applied in one place."""

from __future__ import annotations

from collections.abc import Callable

from services.intake.views import case_access
from shared.web.auth import Principal
from shared.web.need_to_know import case_scope
from shared.web.policy import Action, CaseAccess, Decision, decide

__all__ = ["case_access", "listable", "may"]


def may(principal: Principal, action: Action, access: CaseAccess) -> Decision:
    """Whether ``principal`` may do a workflow ``action`` on a case: only on a case it may read."""
    return decide(principal, action, access)


def listable(principal: Principal) -> Callable[[CaseAccess], bool]:
    """Whether a case is in the caller's queue: exactly the cases it may read (``case_scope``)."""
    scope = case_scope(principal)
    return scope.admits
