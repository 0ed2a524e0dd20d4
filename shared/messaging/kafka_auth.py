"""How a client authenticates to the broker: SASL/SCRAM options for aiokafka and the Java tools.

Production: ``WEERBAAR_KAFKA_SECURITY_PROTOCOL`` (``SASL_SSL``), ``WEERBAAR_KAFKA_SASL_MECHANISM``,
``WEERBAAR_KAFKA_USERNAME`` and ``WEERBAAR_KAFKA_PASSWORD`` (or ``WEERBAAR_KAFKA_PASSWORD_FILE``),
``WEERBAAR_KAFKA_CA_FILE``. Dev mode: one password per principal, generated on first use under ``.cache/dev-kafka/``
(git-ignored, like the dev JWT keys); the local stack registers them with the broker, each service logs in as its own
principal (``shared/contracts/principals.py``), the CLI and the tests as the operator.
"""

from __future__ import annotations

import json
import os
import secrets
import ssl
import uuid
from pathlib import Path
from typing import Any

from shared.contracts.principals import CONTROLLER, OPERATOR, principals
from shared.runtime.settings import CommonSettings

ROOT = Path(__file__).resolve().parents[2]


def dev_kafka_dir(settings: CommonSettings | None = None) -> Path:
    configured = settings.dev_kafka_dir if settings is not None else os.environ.get("WEERBAAR_DEV_KAFKA_DIR")
    if configured:
        return Path(configured)
    return Path(os.environ.get("WEERBAAR_CACHE_DIR") or ROOT / ".cache") / "dev-kafka"


def ensure_dev_credentials(directory: Path) -> dict[str, str]:
    """The dev password of every principal (and the controller's), generated once per install; safe when racing."""
    path = directory / "credentials.json"
    wanted = [*principals(), CONTROLLER]
    if path.exists():
        known: dict[str, str] = json.loads(path.read_text())
        if all(name in known for name in wanted):
            return known
    else:
        known = {}
    directory.mkdir(parents=True, exist_ok=True)
    fresh = {**{name: secrets.token_hex(16) for name in wanted}, **known}
    staging = directory / f".new-{uuid.uuid4().hex}"
    staging.write_text(json.dumps(fresh, indent=1, sort_keys=True))
    staging.chmod(0o600)
    if known:  # a principal was added: extend the file (the stack registers the new one at its next start)
        os.replace(staging, path)
        return fresh
    try:
        os.link(staging, path)  # the first writer wins; the others adopt its passwords
    except FileExistsError:
        pass
    finally:
        staging.unlink()
    loaded: dict[str, str] = json.loads(path.read_text())
    return loaded


def client_options(settings: CommonSettings, *, principal: str) -> dict[str, Any]:
    """Keyword arguments for aiokafka clients (and FastStream's broker): how to log in, as whom.

    ``principal`` is the dev-mode default; ``WEERBAAR_KAFKA_USERNAME`` overrides it.
    """
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return {}
    username = settings.kafka_username or principal
    password = _password(settings, username)
    options: dict[str, Any] = {
        "security_protocol": protocol,
        "sasl_mechanism": settings.kafka_sasl_mechanism,
        "sasl_plain_username": username,
        "sasl_plain_password": password,
    }
    if protocol == "SASL_SSL":
        options["ssl_context"] = ssl.create_default_context(cafile=settings.kafka_ca_file)
    return options


def _password(settings: CommonSettings, username: str) -> str:
    if settings.kafka_password is not None:
        return settings.kafka_password.get_secret_value()
    if settings.kafka_password_file:
        return Path(settings.kafka_password_file).read_text().strip()
    if not settings.dev_mode:
        raise RuntimeError("WEERBAAR_KAFKA_PASSWORD or WEERBAAR_KAFKA_PASSWORD_FILE is required outside dev mode")
    known = ensure_dev_credentials(dev_kafka_dir(settings))
    if username not in known:
        raise RuntimeError(f"no dev Kafka credentials for {username!r} (see shared/contracts/principals.py)")
    return known[username]


def java_client_properties(options: dict[str, Any]) -> str:
    """The same login as a Java client's properties (Kafka's own tools: ProducerPerformance, TopicCommand)."""
    if not options:
        return "security.protocol=PLAINTEXT\n"
    module = "plain.PlainLoginModule" if options["sasl_mechanism"] == "PLAIN" else "scram.ScramLoginModule"
    jaas = (
        f"org.apache.kafka.common.security.{module} required "
        f'username="{options["sasl_plain_username"]}" password="{options["sasl_plain_password"]}";'
    )
    return (
        f"security.protocol={options['security_protocol']}\n"
        f"sasl.mechanism={options['sasl_mechanism']}\n"
        f"sasl.jaas.config={jaas}\n"
    )


def operator_options(settings: CommonSettings | None = None) -> dict[str, Any]:
    """How the CLI and the tests log in: the operator principal (every weerbaar topic)."""
    return client_options(settings or CommonSettings(), principal=OPERATOR)
