"""Notify's error kinds."""

from __future__ import annotations

from shared.errors import NotYetVisible, PermanentError


class NotifyError(PermanentError):
    """Root of notify's permanent errors."""

    code = "notify_error"


class NotificationNotFound(NotifyError):
    """An acknowledgement (or request) names a notification notify never sent."""

    code = "notification_not_found"


class WrongRecipient(NotifyError):
    """An acknowledgement comes from another recipient than the one the notification went to."""

    code = "wrong_recipient"


class CaseDetailsNotYetKnown(NotYetVisible):
    """The triage decision arrived before the report it is about; the report will follow."""

    code = "case_details_not_yet_known"
