"""Broker security for the local stack (``deploy/local/stack.sh`` runs it): credentials, server settings, ACLs.

``python -m weerbaar.broker scram-args`` the ``--add-scram`` options that register every principal when the storage
is formatted; ``server-props`` the SASL settings of ``server.properties``; ``client-props [PRINCIPAL]`` a Java client's
login (Kafka's tools); ``apply-acls`` every grant of ``shared/contracts/principals.py`` (as the admin; idempotent);
``acls`` prints them (for an operator of another cluster); ``compose-files DIR`` what docker-compose.yml's Kafka
formats and starts with (``deploy/compose/kafka.sh``): the SASL settings of its two client listeners, the
``--add-scram`` options and the admin's client login for its health check.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import Final

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.admin import CreateAclsRequest, DeleteAclsRequest, DescribeAclsRequest

from shared.contracts import topics
from shared.contracts.principals import (
    ADMIN,
    CONTROLLER,
    OPERATOR,
    SERVICES,
    Grant,
    Op,
    Pattern,
    all_grants,
    liaison_grants,
    principals,
    service_principal,
)
from shared.contracts.topics import Recipient, ack_topic
from shared.messaging.kafka_auth import client_options, dev_kafka_dir, ensure_dev_credentials, java_client_properties
from shared.runtime.settings import CommonSettings

# Kafka's wire codes (org.apache.kafka.common.resource / acl enums).
_RESOURCE = {"topic": 2, "group": 3}
_PATTERN = {Pattern.LITERAL: 3, Pattern.PREFIXED: 4}
_OPERATION = {
    Op.READ: 3,
    Op.WRITE: 4,
    Op.CREATE: 5,
    Op.DELETE: 6,
    Op.DESCRIBE: 8,
    Op.DESCRIBE_CONFIGS: 10,
    Op.ALTER_CONFIGS: 11,
}
_ALLOW = 3


def _credentials() -> dict[str, str]:
    return ensure_dev_credentials(dev_kafka_dir())


def scram_args() -> list[str]:
    known = _credentials()
    return [f"SCRAM-SHA-512=[name={name},password={known[name]}]" for name in principals()]


def server_props(listeners: tuple[str, ...] = ("sasl_plaintext",)) -> str:
    """SASL on every listener: SCRAM-SHA-512 for clients and the broker itself; PLAIN on the controller listener.

    KRaft has no SCRAM on the controller listener (SCRAM credentials live in the metadata the controller serves), so
    the controller authenticates with PLAIN and a principal of its own, bound to loopback. ``listeners``: the names
    of the client listeners (lower case), each given the broker's own SCRAM login.
    """
    known = _credentials()
    controller = known[CONTROLLER]
    login = f'username="{ADMIN}" password="{known[ADMIN]}";'
    scram = f"org.apache.kafka.common.security.scram.ScramLoginModule required {login}"
    return "\n".join(
        [
            "sasl.enabled.mechanisms=SCRAM-SHA-512",
            "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512",
            "sasl.mechanism.controller.protocol=PLAIN",
            "listener.name.controller.sasl.enabled.mechanisms=PLAIN",
            "listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule "
            f'required username="{CONTROLLER}" password="{controller}" user_{CONTROLLER}="{controller}";',
            *(f"listener.name.{name}.scram-sha-512.sasl.jaas.config={scram}" for name in listeners),
            "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "allow.everyone.if.no.acl.found=false",
            f"super.users=User:{ADMIN};User:{CONTROLLER}",
            "",
        ]
    )


async def apply_acls(bootstrap: str, grants: list[Grant]) -> tuple[int, int]:
    """Make the broker's ACLs exactly ``grants``: create every grant (creating one that exists changes nothing), then
    revoke what the platform's principals hold beyond them (a grant an older release gave, or one added by hand);
    returns (granted, revoked). ACLs of principals the platform does not know are left alone."""
    settings = CommonSettings(kafka_bootstrap=bootstrap, kafka_username=None, dev_mode=True)  # the local stack
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **client_options(settings, principal=ADMIN))
    await admin.start()
    try:
        # aiokafka's admin client has no create/describe/delete_acls yet; these requests are the Admin API's wire form.
        for grant in grants:
            response = await admin._send_request(CreateAclsRequest(*_wire(grant)))
            for error_code, message in response.creation_responses:
                if error_code:
                    raise RuntimeError(f"ACL {grant} refused: {error_code} {message}")
        revoked = _beyond(grants, await _held(admin))
        for acl in revoked:
            response = await admin._send_request(DeleteAclsRequest(*acl))
            for error_code, message, _ in response.filter_responses:
                if error_code:
                    raise RuntimeError(f"ACL {acl} not revoked: {error_code} {message}")
    finally:
        await admin.close()
    return len(grants), len(revoked)


_Wire = tuple[int, str, int, str, str, int, int]
"""An ACL as the Admin API spells it: resource type, name, pattern type, principal, host, operation, permission."""
_ANY = 1


def _wire(grant: Grant) -> _Wire:
    return (
        _RESOURCE[grant.resource],
        grant.name,
        _PATTERN[grant.pattern],
        f"User:{grant.principal}",
        "*",
        _OPERATION[grant.op],
        _ALLOW,
    )


async def _held(admin: AIOKafkaAdminClient) -> list[_Wire]:
    """Every ACL the broker holds."""
    response = await admin._send_request(DescribeAclsRequest(_ANY, None, _ANY, None, None, _ANY, _ANY))
    if response.error_code:
        raise RuntimeError(f"ACLs not listed: {response.error_code} {response.error_message}")
    return [
        (resource_type, name, pattern, principal, host, operation, permission)
        for resource_type, name, pattern, acls in response.resources
        for principal, host, operation, permission in acls
    ]


def _beyond(grants: list[Grant], held: list[_Wire]) -> list[_Wire]:
    """The held ACLs that give one of the platform's principals more than ``grants`` do. A gemeente ``grants`` do not
    name (one added with ``weerbaar topics --municipality``) keeps exactly a liaison's grants for its municipality;
    principals the platform does not know are not its business."""
    wanted = {_wire(g) for g in grants}
    managed = {g.principal for g in grants}
    for principal in {acl[3].removeprefix("User:") for acl in held} - managed:
        if principal.startswith("gemeente-"):
            municipality = principal.removeprefix("gemeente-").upper()
            own = liaison_grants(
                principal, topics.burgemeester_topic(municipality), ack_topic(Recipient.BURGEMEESTER, municipality)
            )
            wanted |= {_wire(g) for g in own}
            managed.add(principal)
    return [acl for acl in held if acl[3].removeprefix("User:") in managed and acl not in wanted]


COMPOSE_LISTENERS = ("sasl_plaintext", "internal")
"""docker-compose.yml's client listeners: the host's (localhost:9092) and the compose network's (kafka:29092)."""


COMPOSE_LOGINS: Final = {
    **{service: service_principal(service) for service in SERVICES},
    "topics": OPERATOR,
    "kafka-acls": ADMIN,
}
"""docker-compose.yml's containers and the principal each logs in as (its env file: ``<container>.env``)."""


def compose_files(directory: Path) -> list[Path]:
    """What docker-compose.yml needs, written to ``directory`` (``.cache/dev-kafka/compose``, ``weerbaar keys dev``).

    For Kafka (mounted, read by the image's own user, so readable: development credentials only): the SASL settings
    of its two client listeners, the ``--add-scram`` options, the admin's client login for its health check. For each
    other container an env file (read by ``docker compose`` on the host, owner-only) with its principal's login.
    """
    directory.mkdir(parents=True, exist_ok=True)
    known = _credentials()
    local = CommonSettings(dev_mode=True, kafka_username=None)
    files = {
        "server-sasl.properties": (server_props(COMPOSE_LISTENERS), 0o644),
        "scram-args": ("\n".join(scram_args()) + "\n", 0o644),
        "admin.properties": (java_client_properties(client_options(local, principal=ADMIN)), 0o644),
        **{
            f"{container}.env": (f"WEERBAAR_KAFKA_USERNAME={who}\nWEERBAAR_KAFKA_PASSWORD={known[who]}\n", 0o600)
            for container, who in COMPOSE_LOGINS.items()
        },
    }
    written = []
    for name, (text, mode) in files.items():
        path = directory / name
        path.write_text(text)
        os.chmod(path, mode)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m weerbaar.broker", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("scram-args")
    commands.add_parser("server-props")
    client = commands.add_parser("client-props")
    client.add_argument("principal", nargs="?", default=OPERATOR)
    apply = commands.add_parser("apply-acls")
    apply.add_argument("--bootstrap", required=True)
    commands.add_parser("acls")
    compose = commands.add_parser("compose-files")
    compose.add_argument("directory", type=Path, nargs="?", help="default: the dev credentials' directory/compose")
    args = parser.parse_args(argv)
    if args.command == "scram-args":
        print("\n".join(scram_args()))
    elif args.command == "server-props":
        print(server_props(), end="")
    elif args.command == "client-props":
        local = CommonSettings(dev_mode=True)  # the local stack's per-install credentials
        print(java_client_properties(client_options(local, principal=args.principal)), end="")
    elif args.command == "apply-acls":
        granted, revoked = asyncio.run(apply_acls(args.bootstrap, all_grants()))
        print(f"{granted} ACLs applied, {revoked} revoked")
    elif args.command == "compose-files":
        for path in compose_files(args.directory or dev_kafka_dir() / "compose"):
            print(path)
    else:
        for g in all_grants():
            print(f"User:{g.principal}\t{g.resource}\t{g.pattern.value}\t{g.name}\t{g.op.value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
