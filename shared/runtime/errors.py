"""Error kinds shared by every service: permanent errors go to the DLQ, transient ones are retried."""

from __future__ import annotations


class WeerbaarError(Exception):
    """Root of every error the platform raises on purpose."""

    code: str = "weerbaar_error"


class PermanentError(WeerbaarError):
    """Retrying will not help (bad input, broken invariant): dead-letter the message."""

    code = "permanent"


class InvalidEvent(PermanentError):
    """An event that does not match its schema."""

    code = "invalid_event"


class TransientError(WeerbaarError):
    """May succeed later (store or broker unavailable, not yet visible data): retry with backoff."""

    code = "transient"


class Unavailable(TransientError):
    """The store or the broker did not answer: retried until it returns, never dead-lettered."""

    code = "unavailable"


class NotYetVisible(TransientError):
    """What this event needs has not arrived yet (another topic lags): wait patiently, then dead-letter."""

    code = "not_yet_visible"
