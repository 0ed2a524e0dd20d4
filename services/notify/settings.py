"""Notify settings (``WEERBAAR_*``)."""

from __future__ import annotations

import re

from pydantic import EmailStr, Field, SecretStr, field_validator, model_validator

from shared.contracts.topics import Recipient
from shared.runtime.settings import CommonSettings


class Settings(CommonSettings):
    port: int = Field(default=8083, validation_alias="WEERBAAR_NOTIFY_PORT")
    ack_timeout_s: float = Field(default=900.0, gt=0, description="A notification needing ack is escalated after this")
    ack_max_resends: int = Field(default=3, ge=1, le=20, description="Re-sends (each escalated) before giving up")
    followup_deadline_s: float = Field(
        default=14 * 24 * 3600.0, gt=0, description="An aangifte without follow-up after this is flagged overdue"
    )
    sweep_interval_s: float = Field(default=10.0, gt=0, le=60, description="How often due timers are looked for")
    webhook_urls: dict[Recipient, str] = Field(
        default_factory=dict, description='JSON object, e.g. {"burgemeester": "https://..."}'
    )
    webhook_secret: SecretStr | None = Field(default=None, description="HMAC-SHA256 key for webhook signatures")
    webhook_attempts: int = Field(default=6, ge=1, le=30)
    webhook_backoff_s: float = Field(default=1.0, gt=0, le=300, description="First backoff; doubles per attempt")
    webhook_max_backoff_s: float = Field(default=300.0, gt=0, le=3600)
    webhook_timeout_s: float = Field(default=5.0, gt=0, le=60)
    breaker_failures: int = Field(default=5, ge=1, le=100, description="Consecutive failures that open the circuit")
    breaker_reset_s: float = Field(default=30.0, gt=0, le=3600, description="Open circuit waits this long to probe")
    # E-mail, the third channel (services/notify/mail.py): off unless a relay is configured.
    smtp_host: str | None = Field(default=None, description="The SMTP relay e-mail goes through; none: no e-mail")
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_starttls: bool = Field(
        default=True, description="STARTTLS required (the relay's certificate verified); false only in dev mode"
    )
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_ca_file: str | None = Field(default=None, description="CA bundle that verifies the relay (default: system)")
    smtp_from: str = Field(default="weerbaar@localhost", max_length=200)
    smtp_timeout_s: float = Field(default=10.0, gt=0, le=120)
    email_recipients: dict[str, EmailStr] = Field(
        default_factory=dict,
        description='Recipients told by e-mail: {"burgemeester:GM0344": "...", "ccv": "..."} (a municipality first)',
    )
    email_attempts: int = Field(default=6, ge=1, le=30)
    email_backoff_s: float = Field(default=2.0, gt=0, le=300, description="First backoff; doubles per attempt")
    email_max_backoff_s: float = Field(default=600.0, gt=0, le=3600)
    email_interval_s: float = Field(default=1.0, gt=0, le=60, description="How often due e-mails are looked for")
    public_intake_url: str = Field(default="http://localhost:8081", description="Links in e-mails: the case views")
    public_notify_url: str = Field(default="http://localhost:8083", description="Links in e-mails: acknowledgement")

    @field_validator("email_recipients")
    @classmethod
    def _known_recipients(cls, value: dict[str, str]) -> dict[str, str]:
        known = {r.value for r in Recipient}
        for key in value:
            recipient, _, municipality = key.partition(":")
            if recipient not in known or (
                municipality
                and (recipient != Recipient.BURGEMEESTER.value or not re.fullmatch(r"GM\d{4}", municipality))
            ):
                raise ValueError(
                    f"unknown e-mail recipient {key!r}: a recipient (burgemeester, ccv, …) or burgemeester:GMnnnn"
                )
        return value

    @model_validator(mode="after")
    def _mail_fails_closed(self) -> Settings:
        if self.email_recipients and not self.smtp_host:
            raise ValueError("WEERBAAR_EMAIL_RECIPIENTS needs a relay: set WEERBAAR_SMTP_HOST")
        if self.smtp_host and not self.smtp_starttls and not self.dev_mode:
            raise ValueError(
                "refusing plaintext SMTP outside dev mode: WEERBAAR_SMTP_STARTTLS must stay true (the default)"
            )
        return self

    def secret_names(self) -> tuple[str, ...]:
        return (*super().secret_names(), "webhook_secret")

    @property
    def webhook_key(self) -> bytes:
        assert self.webhook_secret is not None
        return self.webhook_secret.get_secret_value().encode()
