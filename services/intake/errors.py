"""Intake's error kinds."""

from __future__ import annotations

from shared.errors import PermanentError, TransientError


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
