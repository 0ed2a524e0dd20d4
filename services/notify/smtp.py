"""Sending an e-mail through the configured relay (aiosmtplib): STARTTLS unless dev mode says otherwise.

The relay's certificate is verified (the system's CAs, or ``WEERBAAR_SMTP_CA_FILE``); plaintext SMTP is refused at
start outside dev mode (``Settings``), so a misconfigured relay fails closed instead of sending in the clear.
"""

from __future__ import annotations

import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import aiosmtplib

from services.notify.errors import MailNotSent
from services.notify.mail import Mail
from services.notify.settings import Settings

MAIL_ID_HEADER = "X-Weerbaar-Mail-Id"


def message_of(mail: Mail, *, sender: str) -> EmailMessage:
    """The e-mail as it goes out: plain text, no personal data beyond the recipient's address."""
    assert mail.to is not None
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(idstring=mail.mail_id[:16], domain=sender.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"
    message[MAIL_ID_HEADER] = mail.mail_id
    message.set_content(mail.body)
    return message


class MailRelay:
    """The SMTP relay notify hands its e-mails to."""

    def __init__(self, settings: Settings) -> None:
        assert settings.smtp_host is not None
        self._settings = settings
        self._tls: ssl.SSLContext | None = None
        if settings.smtp_starttls:
            self._tls = ssl.create_default_context(cafile=settings.smtp_ca_file)

    async def send(self, mail: Mail) -> None:
        """Hand one e-mail to the relay; ``MailNotSent`` (retryable or not) when it was not accepted."""
        s = self._settings
        password = s.smtp_password.get_secret_value() if s.smtp_password is not None else None
        try:
            await aiosmtplib.send(
                message_of(mail, sender=s.smtp_from),
                hostname=s.smtp_host,
                port=s.smtp_port,
                start_tls=s.smtp_starttls,  # True: STARTTLS or no e-mail at all (never a silent fallback)
                tls_context=self._tls,
                username=s.smtp_username,
                password=password,
                timeout=s.smtp_timeout_s,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = sorted({refused.code for refused in exc.recipients})
            raise MailNotSent(f"recipient refused (SMTP {codes})", retryable=any(c < 500 for c in codes)) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise MailNotSent(f"SMTP {exc.code}", retryable=exc.code < 500) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise MailNotSent(type(exc).__name__, retryable=True) from exc
