"""Reporting's error kinds."""

from __future__ import annotations

from shared.runtime.errors import PermanentError


class ReportingError(PermanentError):
    """Root of reporting's permanent errors."""

    code = "reporting_error"


class UnknownDimension(ReportingError):
    code = "unknown_dimension"


class RefusedDimension(UnknownDimension):
    """A breakdown that could single out a person (e.g. role by municipality)."""

    code = "refused_dimension"
