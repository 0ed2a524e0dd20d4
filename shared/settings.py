"""Typed settings common to every service; read from ``WEERBAAR_*`` environment variables."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.contracts.events import RiskLevel

DEV_PSEUDONYM_KEY = "dev-only-pseudonym-key-not-for-production"


class CommonSettings(BaseSettings):
    """Connection and behaviour settings every service shares."""

    model_config = SettingsConfigDict(env_prefix="WEERBAAR_", extra="ignore", frozen=True)

    kafka_bootstrap: str = "localhost:9092"
    mongodb_uri: str = "mongodb://localhost:27017"
    mongodb_db: str = "weerbaar"
    host: str = "127.0.0.1"
    log_level: str = "INFO"
    dev_mode: bool = Field(default=True, description="Allows development defaults for secrets")
    pseudonym_key: SecretStr | None = Field(default=None, description="HMAC key for office-holder pseudonyms")
    retry_attempts: int = Field(default=5, ge=1, le=20, description="Attempts for a transient failure before DLQ")
    retry_backoff_s: float = Field(default=0.2, gt=0, le=30, description="First backoff; doubles per attempt")
    retry_patience_s: float = Field(
        default=300.0, gt=0, le=3600, description="How long an event waits for what it depends on before DLQ"
    )
    publish_timeout_s: float = Field(default=5.0, gt=0, le=120, description="Wait for the broker's ack at most")
    inline_flush_timeout_s: float = Field(
        default=1.0, gt=0, le=30, description="How long an HTTP request waits to publish before deferring"
    )
    outbox_interval_s: float = Field(default=1.0, gt=0, le=60, description="How often unsent events are retried")
    outbox_full_scan_s: float = Field(
        default=300.0, gt=0, le=3600, description="Safety-net scan for unsent events when no flush has failed"
    )
    readiness_timeout_s: float = Field(default=2.0, gt=0, le=30)
    jwt_public_key_file: str | None = Field(
        default=None, description="PEM public key (Ed25519 or RSA) that verifies bearer tokens"
    )
    jwks_url: str | None = Field(default=None, description="JWKS endpoint of the token issuer (instead of a key file)")
    jwt_issuer: str = Field(default="weerbaar-dev", description="Required `iss` of bearer tokens")
    jwt_audience: str = Field(default="weerbaar", description="Required `aud` of bearer tokens")
    dev_jwt_dir: str | None = Field(
        default=None, description="Dev mode only: where the dev token key pair lives (default .cache/dev-jwt)"
    )
    data_keys: SecretStr | None = Field(
        default=None, description='JSON {"key id": "base64 of 32 bytes"}: AES-GCM keys for personal fields'
    )
    data_key_id: str | None = Field(default=None, description="The data key that encrypts; the others only decrypt")
    stall_seconds: float = Field(
        default=60.0, gt=0, le=3600, description="Unready when a consumer with lag makes no progress this long"
    )
    acute_hold_s: float = Field(
        default=1.5,
        ge=0,
        le=30,
        description="Routine work waits while an acute case is on its way, at most this long per case (0: never)",
    )
    urgent_patience_s: float = Field(
        default=3.0,
        gt=0,
        le=300,
        description="An urgent event still missing what it needs after this is left to its main-topic copy",
    )
    batch_max_records: int = Field(
        default=200, ge=1, le=5000, description="Routine consumers take at most this many records per batch"
    )
    batch_max_bytes: int = Field(
        default=4 * 1024 * 1024,
        ge=64 * 1024,
        le=256 * 1024 * 1024,
        description="Routine consumers fetch at most this many bytes at once (bounds memory under a backlog)",
    )
    batch_concurrency: int = Field(
        default=8, ge=1, le=64, description="Cases of one batch handled at the same time (each case in order)"
    )
    urgent_batch_max_records: int = Field(
        default=64,
        ge=1,
        le=500,
        description="Urgent consumers take at most this many records at once and handle their cases side by side "
        "(a burst of acute decisions is not worked off one record and one commit at a time)",
    )
    progress_interval_s: float = Field(default=5.0, gt=0, le=60, description="How often consumer lag is sampled")
    escalate_levels: frozenset[RiskLevel] = Field(
        default=frozenset({RiskLevel.CRITICAL}),
        description="Levels whose notifications must be acknowledged (notify escalates; intake closes a case only "
        'once they were acknowledged or escalated). JSON list, e.g. ["critical","high"]',
    )
    group_prefix: str = Field(
        default="weerbaar",
        pattern=r"^[A-Za-z0-9._-]+$",
        description="Prefix of consumer group ids (tests use their own)",
    )

    @model_validator(mode="after")
    def _secrets_outside_dev(self) -> CommonSettings:
        if self.pseudonym_key is None:
            if not self.dev_mode:
                raise ValueError("WEERBAAR_PSEUDONYM_KEY is required when WEERBAAR_DEV_MODE is false")
            object.__setattr__(self, "pseudonym_key", SecretStr(DEV_PSEUDONYM_KEY))
        if not self.dev_mode:
            if not (self.jwt_public_key_file or self.jwks_url):
                raise ValueError(
                    "WEERBAAR_JWT_PUBLIC_KEY_FILE or WEERBAAR_JWKS_URL is required when WEERBAAR_DEV_MODE is false"
                )
            if self.data_keys is None or not self.data_key_id:
                raise ValueError(
                    "WEERBAAR_DATA_KEYS and WEERBAAR_DATA_KEY_ID are required when WEERBAAR_DEV_MODE is false"
                )
        return self

    @property
    def pseudonym_secret(self) -> bytes:
        assert self.pseudonym_key is not None
        return self.pseudonym_key.get_secret_value().encode()
