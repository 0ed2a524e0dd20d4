"""Triage's error kinds."""

from __future__ import annotations

from shared.errors import PermanentError, TransientError


class TriageError(PermanentError):
    """Root of triage's permanent errors."""

    code = "triage_error"


class ConcurrentAssessment(TransientError):
    """Another write changed the assessment in between; try again."""

    code = "concurrent_assessment"
