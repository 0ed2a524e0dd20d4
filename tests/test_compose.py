"""docker-compose.yml and the per-service Dockerfiles stay consistent with the contract and the Settings classes.

No Docker engine is needed: the files are parsed and compared with the code that reads the environment, so a typo in
an env var name, a port that drifted, or a Dockerfile that runs the wrong module fails here instead of at deploy time.
"""

from __future__ import annotations

import importlib
import json
import os
import re
from functools import cache
from pathlib import Path
from typing import Any, cast

import pytest
import yaml

from shared.messaging.kafka_auth import ensure_dev_credentials
from shared.runtime.settings import CommonSettings
from weerbaar import broker

REPO = Path(__file__).resolve().parents[1]
COMPOSE_FILE = REPO / "docker-compose.yml"

# The public contract (docs/contract.md): service ports.
CONTRACT_PORTS = {"intake": 8081, "triage": 8082, "notify": 8083, "reporting": 8084}
SERVICES = sorted(CONTRACT_PORTS)
KAFKA_INTERNAL_BOOTSTRAP = "kafka:29092"
ALL_INTERFACES = "0.0.0.0"  # noqa: S104 - inside a container the services must listen on every interface
# Files the images are built from; .dockerignore must not hide them.
IMAGE_SOURCES = ("requirements.lock", "pyproject.toml", "shared", "services", "weerbaar")
ONE_SHOTS = ("kafka-acls", "topics")


@cache
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(loaded, dict), "docker-compose.yml is not a mapping"
    return loaded


def compose_service(name: str) -> dict[str, Any]:
    services = compose()["services"]
    assert name in services, f"docker-compose.yml has no service {name!r}"
    service = services[name]
    assert isinstance(service, dict)
    return service


def compose_env(name: str) -> dict[str, str]:
    environment = compose_service(name).get("environment", {})
    if isinstance(environment, list):  # the "KEY=value" list form
        environment = dict(item.split("=", 1) for item in environment)
    assert isinstance(environment, dict)
    return {str(key): str(value) for key, value in environment.items()}


def settings_class(service: str) -> type[CommonSettings]:
    """The Settings class that reads a compose service's environment."""
    if service not in CONTRACT_PORTS:  # one-shot helpers (topics) run the CLI, which reads CommonSettings
        return CommonSettings
    module = importlib.import_module(f"services.{service}.settings")
    cls = module.Settings
    assert issubclass(cls, CommonSettings)
    return cast(type[CommonSettings], cls)


def env_names(cls: type[CommonSettings]) -> set[str]:
    """The environment variable names pydantic-settings reads for ``cls``."""
    prefix = cls.model_config.get("env_prefix", "")
    names: set[str] = set()
    for field_name, field in cls.model_fields.items():
        if isinstance(field.validation_alias, str):
            names.add(field.validation_alias)
        else:
            names.add(f"{prefix}{field_name}".upper())
    return names


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` pairs, with comments dropped and continuation lines joined."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, args = (pending + line).partition(" ")
        instructions.append((keyword.upper(), args.strip()))
        pending = ""
    assert not pending, f"{path} ends inside a continuation line"
    return instructions


def dockerfile_for(service: str) -> Path:
    build = compose_service(service)["build"]
    assert build["context"] == ".", "the images are built from the repository root"
    return REPO / str(build["dockerfile"])


def dockerfile_env(path: Path) -> dict[str, str]:
    env: dict[str, str] = {}
    for keyword, args in dockerfile_instructions(path):
        if keyword == "ENV":
            for pair in args.split():
                key, _, value = pair.partition("=")
                env[key] = value
    return env


def test_stack_has_kafka_mongo_and_the_four_services() -> None:
    names = set(compose()["services"])
    assert {"kafka", "mongo", *SERVICES} <= names


def test_backends_are_the_real_kafka_and_mongo_images() -> None:
    assert compose_service("kafka")["image"].startswith("apache/kafka:")
    assert compose_service("mongo")["image"].startswith("mongo:")


@pytest.mark.parametrize("service", SERVICES)
def test_service_publishes_its_contract_port_which_is_the_settings_default(service: str) -> None:
    port = CONTRACT_PORTS[service]
    field = settings_class(service).model_fields["port"]
    assert field.default == port, f"{service} Settings.port default drifted from the contract"
    assert field.validation_alias == f"WEERBAAR_{service.upper()}_PORT"
    assert f"{port}:{port}" in [str(p) for p in compose_service(service).get("ports", [])]
    assert compose_env(service).get(field.validation_alias) == str(port)


@pytest.mark.parametrize("service", sorted(set(SERVICES) | set(ONE_SHOTS)))
def test_every_compose_env_var_is_a_real_setting(service: str) -> None:
    known = env_names(settings_class(service))
    used = {name for name in compose_env(service) if name.startswith("WEERBAAR_")}
    assert used, f"{service} gets no WEERBAAR_* configuration"
    assert used <= known, f"{service}: not read by any setting: {sorted(used - known)}"


@pytest.mark.parametrize("service", SERVICES)
def test_compose_env_is_accepted_by_the_service_settings(service: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith("WEERBAAR_"):
            monkeypatch.delenv(name)
    for name, value in compose_env(service).items():
        monkeypatch.setenv(name, value)
    settings = settings_class(service)()
    assert settings.kafka_bootstrap == KAFKA_INTERNAL_BOOTSTRAP
    assert settings.mongodb_uri == "mongodb://mongo:27017"
    assert settings.mongodb_db == "weerbaar"
    assert settings.host == ALL_INTERFACES
    assert settings.model_dump()["port"] == CONTRACT_PORTS[service]


def test_services_reach_kafka_on_an_advertised_internal_listener() -> None:
    advertised = compose_env("kafka")["KAFKA_ADVERTISED_LISTENERS"].split(",")
    assert f"INTERNAL://{KAFKA_INTERNAL_BOOTSTRAP}" in advertised
    assert "SASL_PLAINTEXT://localhost:9092" in advertised, "the host (tests, CLI) uses localhost:9092"
    assert "9092:9092" in [str(p) for p in compose_service("kafka")["ports"]]
    for service in [*SERVICES, *ONE_SHOTS]:
        assert compose_env(service)["WEERBAAR_KAFKA_BOOTSTRAP"] == KAFKA_INTERNAL_BOOTSTRAP


def test_every_kafka_listener_authenticates_and_none_is_plaintext() -> None:
    env = compose_env("kafka")
    protocols = dict(entry.split(":", 1) for entry in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    listeners = [entry.split("://", 1)[0] for entry in env["KAFKA_LISTENERS"].split(",")]
    advertised = [entry.split("://", 1)[0] for entry in env["KAFKA_ADVERTISED_LISTENERS"].split(",")]
    assert set(listeners) == set(protocols), "every listener has its protocol"
    for name in listeners:
        assert protocols[name] in {"SASL_PLAINTEXT", "SASL_SSL"}, f"listener {name} is {protocols[name]}"
    assert set(advertised) <= set(listeners)
    assert "PLAINTEXT" not in listeners
    # Each client listener gets the broker's SCRAM login, the controller PLAIN; the authorizer denies by default.
    sasl = broker.server_props(broker.COMPOSE_LISTENERS)
    assert {name.lower() for name in listeners if name != env["KAFKA_CONTROLLER_LISTENER_NAMES"]} == set(
        broker.COMPOSE_LISTENERS
    )
    for name in broker.COMPOSE_LISTENERS:
        assert f"listener.name.{name}.scram-sha-512.sasl.jaas.config=" in sasl
    assert "allow.everyone.if.no.acl.found=false" in sasl
    assert "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer" in sasl


def test_kafka_is_formatted_with_every_principals_scram_credential_and_probed_with_a_login() -> None:
    kafka = compose_service("kafka")
    script = REPO / "deploy" / "compose" / "kafka.sh"
    assert kafka["entrypoint"] == ["/bin/bash", "/opt/weerbaar/kafka.sh"]
    assert f"./{script.relative_to(REPO)}:/opt/weerbaar/kafka.sh:ro" in kafka["volumes"]
    assert "./.cache/dev-kafka/compose:/run/weerbaar/kafka:ro" in kafka["volumes"]
    text = script.read_text()
    assert "kafka-storage.sh format" in text
    assert "--add-scram" in text
    assert "exec /opt/kafka/bin/kafka-server-start.sh" in text
    probe = " ".join(kafka["healthcheck"]["test"])
    assert "--command-config /run/weerbaar/kafka/admin.properties" in probe


@pytest.mark.parametrize("container", [*SERVICES, *ONE_SHOTS])
def test_each_container_logs_in_to_kafka_as_its_own_principal(
    container: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert compose_env(container)["WEERBAAR_KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT"
    assert compose_env(container)["WEERBAAR_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
    env_file = compose_service(container)["env_file"]
    assert env_file == f".cache/dev-kafka/compose/{container}.env"
    monkeypatch.setenv("WEERBAAR_DEV_KAFKA_DIR", str(tmp_path / "dev-kafka"))
    written = {path.name: path for path in broker.compose_files(tmp_path / "compose")}
    login = dict(line.split("=", 1) for line in written[Path(env_file).name].read_text().splitlines())
    expected = broker.COMPOSE_LOGINS[container]
    assert login["WEERBAAR_KAFKA_USERNAME"] == expected
    assert login["WEERBAAR_KAFKA_PASSWORD"] == ensure_dev_credentials(tmp_path / "dev-kafka")[expected]
    assert written[Path(env_file).name].stat().st_mode & 0o077 == 0, "a password file only its owner reads"
    if container in SERVICES:
        assert expected == f"weerbaar-{container}"


@pytest.mark.parametrize("service", SERVICES)
def test_containers_listen_on_all_interfaces(service: str) -> None:
    assert compose_env(service)["WEERBAAR_HOST"] == ALL_INTERFACES
    assert dockerfile_env(dockerfile_for(service)).get("WEERBAAR_HOST") == ALL_INTERFACES


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_image_runs_its_own_module(service: str) -> None:
    path = dockerfile_for(service)
    assert path == REPO / "services" / service / "Dockerfile"
    assert path.is_file()
    instructions = dockerfile_instructions(path)
    cmds = [args for keyword, args in instructions if keyword == "CMD"]
    assert cmds, f"{path} has no CMD"
    assert json.loads(cmds[-1]) == ["python", "-m", f"services.{service}"]
    assert (REPO / "services" / service / "__main__.py").is_file()


@pytest.mark.parametrize("service", SERVICES)
def test_each_image_is_slim_non_root_and_exposes_its_port(service: str) -> None:
    instructions = dockerfile_instructions(dockerfile_for(service))
    by_keyword: dict[str, list[str]] = {}
    for keyword, args in instructions:
        by_keyword.setdefault(keyword, []).append(args)
    (base,) = by_keyword["FROM"]
    assert re.fullmatch(r"python:3\.11-slim@sha256:[0-9a-f]{64}", base), "the base image is pinned by digest"
    users = by_keyword.get("USER", [])
    assert users, "the image must not run as root"
    assert users[-1] not in {"root", "0"}
    assert by_keyword["EXPOSE"] == [str(CONTRACT_PORTS[service])]
    assert any("/healthz" in args for args in by_keyword.get("HEALTHCHECK", []))
    assert "--no-cache-dir --require-hashes --no-deps -r requirements.lock" in " ".join(by_keyword["RUN"])


@pytest.mark.parametrize("service", SERVICES)
def test_services_start_after_backends_and_topics_and_report_readiness(service: str) -> None:
    definition = compose_service(service)
    depends_on = definition["depends_on"]
    assert depends_on["kafka"]["condition"] == "service_healthy"
    assert depends_on["mongo"]["condition"] == "service_healthy"
    assert depends_on["topics"]["condition"] == "service_completed_successfully"
    assert definition["restart"] == "unless-stopped"
    probe = " ".join(definition["healthcheck"]["test"])
    assert f"127.0.0.1:{CONTRACT_PORTS[service]}/readyz" in probe


def test_topics_are_created_once_before_the_services_start() -> None:
    topics = compose_service("topics")
    assert topics["command"] == ["weerbaar", "topics"]
    assert topics["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert topics["depends_on"]["kafka-acls"]["condition"] == "service_completed_successfully", "the grants first"
    assert topics.get("restart", "no") == "no"
    assert topics["build"] == compose_service("intake")["build"], "topics runs from the intake image"


def test_backends_have_healthchecks_the_services_can_wait_for() -> None:
    kafka_probe = " ".join(compose_service("kafka")["healthcheck"]["test"])
    assert "kafka-broker-api-versions.sh --bootstrap-server localhost:9092" in kafka_probe
    mongo_probe = " ".join(compose_service("mongo")["healthcheck"]["test"])
    assert "mongosh" in mongo_probe
    assert "ping" in mongo_probe


def test_dockerignore_keeps_local_state_out_but_not_the_image_sources() -> None:
    ignored = {
        line.strip().rstrip("/")
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".venv", ".git", ".stack", ".cache"} <= ignored
    assert not ignored & set(IMAGE_SOURCES)
