"""FastAPI dependencies that apply the policy: authenticate, then the role-level gate of one action."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from shared.auth import Authenticated, AuthenticatedPage, Principal, forbidden
from shared.policy import Action, may_attempt


def require(action: Action, *, page: bool = False) -> Callable[[Principal], Awaitable[Principal]]:
    """Dependency: the caller, if their role may attempt ``action`` (403 problem+json otherwise).

    ``page``: an HTML page a browser opens, which may carry its token as ``?access_token=`` (APIs may not).
    """

    async def guard(principal: Authenticated) -> Principal:
        return _gate(principal, action)

    async def page_guard(principal: AuthenticatedPage) -> Principal:
        return _gate(principal, action)

    chosen = page_guard if page else guard
    chosen.__name__ = f"require_{action.name.lower()}"
    return chosen


def _gate(principal: Principal, action: Action) -> Principal:
    decision = may_attempt(principal, action)
    if not decision:
        raise forbidden(decision.reason)
    return principal
