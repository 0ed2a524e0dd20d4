"""Reporting's error kinds."""

from __future__ import annotations

from shared.errors import PermanentError


class ReportingError(PermanentError):
    """Root of reporting's permanent errors."""

    code = "reporting_error"


class UnknownDimension(ReportingError):
    code = "unknown_dimension"
