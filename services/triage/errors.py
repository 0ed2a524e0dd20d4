"""Triage's error kinds."""

from __future__ import annotations

from shared.errors import PermanentError, TransientError


class TriageError(PermanentError):
    """Root of triage's permanent errors."""

    code = "triage_error"


class ConcurrentAssessment(TransientError):
    """Another write changed the assessment in between; try again."""

    code = "concurrent_assessment"


class PolicyError(TriageError):
    """The risk policy file is missing or invalid: the service refuses to start."""

    code = "invalid_policy"


class CaseNotYetAssessed(TransientError):
    """A follow-up arrived before the case's first assessment; try again."""

    code = "case_not_yet_assessed"
