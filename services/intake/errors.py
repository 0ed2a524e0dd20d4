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


class ConcurrentCaseUpdate(TransientError):
    """Another event changed the case in between; apply again."""

    code = "concurrent_case_update"


class CaseNotYetOpened(TransientError):
    """An event about a case arrived before the case document exists (the report is on its way)."""

    code = "case_not_yet_opened"
