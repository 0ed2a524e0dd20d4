"""Per-caller rate limit: an in-process token bucket (one process per service; enough for one intake replica)."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from shared.web.http import Problem


@dataclass
class _Bucket:
    tokens: float
    at: float


class TokenBucket:
    """``per_minute`` requests per key, refilled continuously; bursts up to ``per_minute``."""

    def __init__(
        self, per_minute: int, *, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000
    ) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, key: str) -> float:
        """0 when allowed (one token taken); else the seconds until a token is available."""
        now = self._clock()
        bucket = self._buckets.pop(key, None) or _Bucket(self.capacity, now)
        bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        self._buckets[key] = bucket
        while len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.rate

    def check(self, key: str) -> None:
        """Raise 429 problem+json with Retry-After when ``key`` is over its limit."""
        wait = self.take(key)
        if wait > 0:
            retry_after = str(max(1, math.ceil(wait)))
            raise Problem(
                429,
                "Too many requests",
                f"the limit is {int(self.capacity)} per minute",
                code="rate_limited",
                headers={"Retry-After": retry_after},
            )
