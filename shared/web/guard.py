"""FastAPI dependencies that apply the policy: authenticate, then the role-level gate of one action."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Security

from shared.web.auth import Principal, current_principal, forbidden, page_principal
from shared.web.policy import ROLE_ACTIONS, Action, may_attempt


def require(action: Action, *, page: bool = False) -> Callable[[Principal], Awaitable[Principal]]:
    """Dependency: the caller, if their role may attempt ``action`` (403 problem+json otherwise).

    ``page``: an HTML page a browser opens, which may carry its token as ``?access_token=`` (APIs may not).
    The roles that may attempt ``action`` are the operation's security requirement in the OpenAPI document (OpenAPI
    3.1 lets a requirement of a bearer or API-key scheme list role names).
    """
    roles = sorted(role.value for role in ROLE_ACTIONS.get(action, ()))

    # Defaults, not Annotated: the annotations are strings (PEP 563), and ``roles`` is this call's.
    async def guard(principal: Principal = Security(current_principal, scopes=roles)) -> Principal:  # noqa: B008
        return _gate(principal, action)

    async def page_guard(principal: Principal = Security(page_principal, scopes=roles)) -> Principal:  # noqa: B008
        return _gate(principal, action)

    chosen = page_guard if page else guard
    chosen.__name__ = f"require_{action.name.lower()}"
    return chosen


def _gate(principal: Principal, action: Action) -> Principal:
    decision = may_attempt(principal, action)
    if not decision:
        raise forbidden(decision.reason)
    return principal
