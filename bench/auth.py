"""Bench requests come from many reporters, each with a dev token of their own (rate limits are per token)."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator

from shared.runtime.settings import CommonSettings
from shared.web.auth import Role, dev_key_dir, mint_token


def reporter_tokens(count: int) -> Iterator[str]:
    """An endless cycle over ``count`` reporter tokens signed with the local stack's dev key."""
    settings = CommonSettings()
    tokens = [
        mint_token(
            role=Role.REPORTER,
            sub=f"bench-reporter-{uuid.uuid4().hex[:10]}",
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            directory=dev_key_dir(settings),
        )
        for _ in range(count)
    ]
    return itertools.cycle(tokens)
