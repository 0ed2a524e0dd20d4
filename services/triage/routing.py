"""Who must act, and why: the policy's route rules applied to a decision."""

from __future__ import annotations

from collections.abc import Collection

from services.triage.policy import Condition, Policy
from shared.contracts.events import RiskLevel, Route
from shared.contracts.incident import BodyKind
from shared.contracts.topics import Recipient


def _holds(
    condition: Condition, *, level: RiskLevel, codes: Collection[str], wants_aangifte: bool, body_kind: BodyKind
) -> bool:
    return (
        (condition.levels is None or level in condition.levels)
        and (condition.wants_aangifte is None or condition.wants_aangifte == wants_aangifte)
        and (condition.any_factor is None or any(code in codes for code in condition.any_factor))
        and (condition.body_kinds is None or body_kind in condition.body_kinds)
    )


def route(
    policy: Policy,
    *,
    level: RiskLevel,
    factor_codes: Collection[str],
    wants_aangifte: bool,
    body_kind: BodyKind,
    body_code: str,
    municipality: str | None = None,
) -> tuple[Route, ...]:
    """One route per recipient whose rules hold; the reasons of every rule that held, in policy order.

    The burgemeester is routed only when it is known which one (``municipality``): a provincie or waterschap office
    holder whose home and incident municipality are unknown has no burgemeester who could read the case.
    """
    authority = policy.authorities[body_kind].format(body_code=body_code, municipality=municipality or "?")
    reasons: dict[Recipient, list[str]] = {}
    for rule in policy.routes:
        if rule.recipient is Recipient.BURGEMEESTER and municipality is None:
            continue
        if _holds(rule.when, level=level, codes=factor_codes, wants_aangifte=wants_aangifte, body_kind=body_kind):
            reasons.setdefault(rule.recipient, []).append(rule.reason.format(authority=authority))
    return tuple(Route(recipient=recipient, reason="; ".join(why)) for recipient, why in reasons.items())
