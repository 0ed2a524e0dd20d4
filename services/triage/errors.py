"""Triage's error kinds."""

from __future__ import annotations

from shared.runtime.errors import NotYetVisible, PermanentError


class TriageError(PermanentError):
    """Root of triage's permanent errors."""

    code = "triage_error"


class PolicyError(TriageError):
    """The risk policy file is missing or invalid: the service refuses to start."""

    code = "invalid_policy"


class CaseNotYetAssessed(NotYetVisible):
    """A follow-up arrived before the case's first assessment (its report waits in another topic's backlog): wait
    for it, woken as soon as this service handles a record of the case."""

    code = "case_not_yet_assessed"
