"""FastAPI dependencies that apply the policy: authenticate, then the role-level gate of one action."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from shared.auth import Authenticated, Principal, forbidden
from shared.policy import Action, may_attempt


def require(action: Action) -> Callable[[Principal], Awaitable[Principal]]:
    """Dependency: the caller, if their role may attempt ``action`` (403 problem+json otherwise)."""

    async def guard(principal: Authenticated) -> Principal:
        decision = may_attempt(principal, action)
        if not decision:
            raise forbidden(decision.reason)
        return principal

    guard.__name__ = f"require_{action.name.lower()}"
    return guard
