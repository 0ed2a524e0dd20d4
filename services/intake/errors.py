"""Intake's error kinds."""

from __future__ import annotations

from shared.runtime.errors import PermanentError, TransientError


class IntakeError(PermanentError):
    """Root of intake's permanent errors."""

    code = "intake_error"


class IdempotencyConflict(IntakeError):
    """The Idempotency-Key was used before with another body."""

    code = "idempotency_conflict"


class CaseNotFound(IntakeError):
    code = "case_not_found"


class StoreUnavailable(TransientError):
    code = "store_unavailable"


class CaseConflict(IntakeError):
    """The case is not in a state that allows this (closed, awaiting an acknowledgement, not triaged yet)."""

    code = "case_conflict"


class NotAllowed(IntakeError):
    """The caller may not do this with this case (need-to-know); the reason says why."""

    code = "forbidden"
