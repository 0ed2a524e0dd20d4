"""The production topology as written: probes, limits and disruption budgets in k8s, a replicated cluster in compose."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from services.notify.settings import Settings as NotifySettings
from tests.support.services import SERVICES
from weerbaar.broker import COMPOSE_LOGINS

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
PORTS = {"intake": 8081, "triage": 8082, "notify": 8083, "reporting": 8084}


def _k8s() -> list[dict[str, Any]]:
    return [doc for path in sorted((DEPLOY / "k8s").glob("*.yaml")) for doc in yaml.safe_load_all(path.read_text())]


def _of(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in _k8s() if doc and doc["kind"] == kind}


@pytest.mark.parametrize("service", SERVICES)
def test_every_deployment_has_probes_limits_replicas_and_a_budget(service: str) -> None:
    deployment = _of("Deployment")[service]
    spec = deployment["spec"]
    assert spec["replicas"] >= 2
    container = spec["template"]["spec"]["containers"][0]
    port = PORTS[service]
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": port}
    assert {"name": "http", "containerPort": port} in container["ports"]
    assert {"cpu", "memory"} <= set(container["resources"]["limits"])
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])
    refs = {next(iter(ref.values()))["name"] for ref in container["envFrom"]}
    assert refs == {"weerbaar-config", "weerbaar-secrets"}
    assert spec["template"]["spec"]["terminationGracePeriodSeconds"] >= 30, "time to finish in-flight work"

    labels = spec["template"]["metadata"]["labels"]
    budget = _of("PodDisruptionBudget")[service]["spec"]
    assert budget["selector"]["matchLabels"].items() <= labels.items()
    assert budget.get("minAvailable", 0) >= 1 or budget.get("maxUnavailable") == 1
    assert _of("Service")[service]["spec"]["selector"].items() <= labels.items()


def test_settings_come_from_a_configmap_and_keys_from_a_secret_made_out_of_band() -> None:
    config = _of("ConfigMap")["weerbaar-config"]["data"]
    assert config["WEERBAAR_DEV_MODE"] == "false"
    assert len(config["WEERBAAR_KAFKA_BOOTSTRAP"].split(",")) == 3
    assert not _of("Secret"), "a committed Secret would ship placeholder keys and overwrite the real ones on apply"
    template = (DEPLOY / "k8s" / "secrets.env.example").read_text().splitlines()
    entries = dict(line.split("=", 1) for line in template if line and not line.startswith("#"))
    assert "w=majority" in entries["WEERBAAR_MONGODB_URI"]
    assert not {k for k in config if "KEY" in k or "SECRET" in k or k.endswith("_URI")}


def test_cluster_compose_has_three_brokers_rf3_min_isr2_a_replica_set_and_two_replicas_each() -> None:
    compose = yaml.safe_load((DEPLOY / "production" / "docker-compose.cluster.yml").read_text())
    services = compose["services"]
    brokers = {name: s for name, s in services.items() if str(s.get("image", "")).startswith("apache/kafka")}
    assert len(brokers) == 3
    node_ids = set()
    for broker in brokers.values():
        env = broker["environment"]
        node_ids.add(env["KAFKA_NODE_ID"])
        assert len(env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")) == 3
        assert env["KAFKA_DEFAULT_REPLICATION_FACTOR"] == 3
        assert env["KAFKA_MIN_INSYNC_REPLICAS"] == 2
        assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == 3
        assert env["KAFKA_UNCLEAN_LEADER_ELECTION_ENABLE"] == "false"
    assert node_ids == {1, 2, 3}
    members = [s for s in services.values() if str(s.get("image", "")).startswith("mongo") and "command" in s]
    assert sum("--replSet" in s["command"] for s in members) == 3
    assert services["topics"]["command"][-2:] == ["--replication-factor", "3"]
    for service in SERVICES:
        spec = services[service]
        assert spec["deploy"]["replicas"] == 2
        assert spec["deploy"]["resources"]["limits"]
        env = spec["environment"]
        assert "w=majority" in env["WEERBAAR_MONGODB_URI"]
        assert env["WEERBAAR_DEV_MODE"] == "false"
        for key in (*NotifySettings.model_construct().secret_names(), "data_key_id", "jwks_url"):
            value = str(env[f"WEERBAAR_{key.upper()}"])
            assert value.startswith("${"), f"{key} must come from the operator's secret file"
            assert ":?" in value, f"compose must refuse to start without {key}"
        assert "replicaSet=" in env["WEERBAAR_MONGODB_URI"]
        assert len(env["WEERBAAR_KAFKA_BOOTSTRAP"].split(",")) == 3
        assert "/readyz" in " ".join(spec["healthcheck"]["test"])


LOGINS = "${WEERBAAR_KAFKA_LOGINS:?run python -m weerbaar.broker compose-files}"


def test_the_cluster_brokers_authenticate_on_every_listener_and_are_formatted_with_every_login() -> None:
    services = yaml.safe_load((DEPLOY / "production" / "docker-compose.cluster.yml").read_text())["services"]
    for name in ("kafka-1", "kafka-2", "kafka-3"):
        node = services[name]
        env = node["environment"]
        protocols = dict(entry.split(":", 1) for entry in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
        listeners = [entry.split("://", 1)[0] for entry in env["KAFKA_LISTENERS"].split(",")]
        assert set(listeners) == set(protocols)
        assert set(protocols.values()) <= {"SASL_PLAINTEXT", "SASL_SSL"}, f"{name}: a listener without SASL"
        assert node["entrypoint"] == ["/bin/bash", "/opt/weerbaar/kafka.sh"], "formatted with --add-scram"
        assert "../compose/kafka.sh:/opt/weerbaar/kafka.sh:ro" in node["volumes"]
        assert f"{LOGINS}:/run/weerbaar/kafka:ro" in node["volumes"]
        assert "--command-config /run/weerbaar/kafka/admin.properties" in " ".join(node["healthcheck"]["test"])


@pytest.mark.parametrize("container", [*SERVICES, "kafka-acls", "topics"])
def test_each_cluster_container_logs_in_as_its_own_principal_after_the_grants(container: str) -> None:
    services = yaml.safe_load((DEPLOY / "production" / "docker-compose.cluster.yml").read_text())["services"]
    spec = services[container]
    assert spec["environment"]["WEERBAAR_KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT"
    assert spec["environment"]["WEERBAAR_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
    assert spec["env_file"].split("#")[0].strip() == f"{LOGINS}/{container}.env"
    assert container in COMPOSE_LOGINS, "compose-files writes its login"
    if container != "kafka-acls":
        assert spec["depends_on"]["kafka-acls"] == {"condition": "service_completed_successfully"}
