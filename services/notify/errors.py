"""Notify's error kinds."""

from __future__ import annotations

from shared.runtime.errors import NotYetVisible, PermanentError


class NotifyError(PermanentError):
    """Root of notify's permanent errors."""

    code = "notify_error"


class NotificationNotFound(NotifyError):
    """An acknowledgement (or request) names a notification notify never sent."""

    code = "notification_not_found"


class WrongRecipient(NotifyError):
    """An acknowledgement comes from another recipient than the one the notification went to."""

    code = "wrong_recipient"


class MailNotFound(NotifyError):
    """An e-mail notify never made (or no longer keeps)."""

    code = "mail_not_found"


class MailNotSent(NotifyError):
    """The relay did not take an e-mail: the outcome of one delivery attempt, handled by the delivery loop
    (retried when ``retryable``, otherwise given up), never by a consumer."""

    code = "mail_not_sent"

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.retryable = retryable


class CaseDetailsNotYetKnown(NotYetVisible):
    """The triage decision arrived before the report it is about; the report will follow."""

    code = "case_details_not_yet_known"
