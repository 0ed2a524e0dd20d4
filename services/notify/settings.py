"""Notify settings (``WEERBAAR_*``)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from shared.contracts.topics import Recipient
from shared.settings import CommonSettings


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

    def secret_names(self) -> tuple[str, ...]:
        return (*super().secret_names(), "webhook_secret")

    @property
    def webhook_key(self) -> bytes:
        assert self.webhook_secret is not None
        return self.webhook_secret.get_secret_value().encode()
