"""Typed settings common to every service; read from ``WEERBAAR_*`` environment variables."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.contracts.events import RiskLevel
from shared.security.keys import dev_keys_dir, ensure_dev_keys


class MissingKeys(ValueError):
    """Outside dev mode a secret setting has no value: the service refuses to start."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(
            f"missing {', '.join(names)}: outside development (WEERBAAR_DEV_MODE=false, the default) every key must be"
            " configured; create them with `weerbaar keys create` (docs/security.md, key management)"
        )
        self.names = names


class CommonSettings(BaseSettings):
    """Connection and behaviour settings every service shares."""

    model_config = SettingsConfigDict(env_prefix="WEERBAAR_", extra="ignore", frozen=True)

    kafka_bootstrap: str = "localhost:9092"
    kafka_security_protocol: Literal["SASL_PLAINTEXT", "SASL_SSL", "PLAINTEXT"] = Field(
        default="SASL_PLAINTEXT", description="How clients reach the broker (SASL_SSL in production)"
    )
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = "SCRAM-SHA-512"
    kafka_username: str | None = Field(
        default=None, description="The client's Kafka principal (dev mode: the service's own, weerbaar-<service>)"
    )
    kafka_password: SecretStr | None = Field(default=None, description="Its password (or WEERBAAR_KAFKA_PASSWORD_FILE)")
    kafka_password_file: str | None = Field(default=None, description="A file holding the Kafka password")
    kafka_ca_file: str | None = Field(default=None, description="CA bundle that verifies the brokers (SASL_SSL)")
    dev_kafka_dir: str | None = Field(
        default=None, description="Dev mode only: where the per-install Kafka credentials live (.cache/dev-kafka)"
    )
    mongodb_uri: str = "mongodb://localhost:27017"
    mongodb_db: str = "weerbaar"
    host: str = "127.0.0.1"
    log_level: str = "INFO"
    dev_mode: bool = Field(
        default=False,
        description="Development only: missing keys come from .cache/dev-keys (generated per checkout)",
    )
    dev_keys_dir: str | None = Field(
        default=None, description="Dev mode only: where the checkout's generated keys live (default .cache/dev-keys)"
    )
    pseudonym_key: SecretStr | None = Field(default=None, description="HMAC key for office-holder pseudonyms")
    audit_key: SecretStr | None = Field(
        default=None, description="HMAC key of the audit chain (kept out of the database)"
    )
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
    max_body_bytes: int = Field(
        default=256 * 1024, ge=1024, description="Larger request bodies get 413, before they are read"
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
    otlp_endpoint: str | None = Field(
        default=None,
        validation_alias=AliasChoices("WEERBAAR_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"),
        description="OTLP/HTTP collector that receives traces (/v1/traces is appended); none: tracing off",
    )
    trace_sample_ratio: float = Field(
        default=1.0, ge=0, le=1, description="Share of new traces kept (a trace continued from a caller follows it)"
    )
    group_prefix: str = Field(
        default="weerbaar",
        pattern=r"^[A-Za-z0-9._-]+$",
        description="Prefix of consumer group ids (tests use their own)",
    )

    @model_validator(mode="after")
    def _keys_or_refuse(self) -> CommonSettings:
        if self.dev_mode:
            dev = ensure_dev_keys(dev_keys_dir(self.dev_keys_dir))
            for name in self.secret_names():
                if _blank(getattr(self, name)):
                    object.__setattr__(self, name, SecretStr(dev[f"WEERBAAR_{name.upper()}"]))
            if self.data_key_id is None:
                object.__setattr__(self, "data_key_id", dev["WEERBAAR_DATA_KEY_ID"])
            return self
        missing = [f"WEERBAAR_{name.upper()}" for name in self.secret_names() if _blank(getattr(self, name))]
        if not self.data_key_id:
            missing.append("WEERBAAR_DATA_KEY_ID")
        if not (self.jwt_public_key_file or self.jwks_url):
            missing.append("WEERBAAR_JWT_PUBLIC_KEY_FILE or WEERBAAR_JWKS_URL")
        if missing:
            raise MissingKeys(missing)
        return self

    def secret_names(self) -> tuple[str, ...]:
        """The secret settings this service needs (a dev key fills each in dev mode)."""
        return ("data_keys", "pseudonym_key", "audit_key")

    @property
    def pseudonym_secret(self) -> bytes:
        assert self.pseudonym_key is not None
        return self.pseudonym_key.get_secret_value().encode()

    @property
    def audit_secret(self) -> bytes:
        assert self.audit_key is not None
        return self.audit_key.get_secret_value().encode()


def _blank(secret: SecretStr | None) -> bool:
    """No value, or an empty one (a Secret template's unfilled entry): missing either way."""
    return secret is None or not secret.get_secret_value().strip()
