"""Broker security for the local stack (``deploy/local/stack.sh`` runs it): credentials, server settings, ACLs.

``python -m weerbaar.broker scram-args`` the ``--add-scram`` options that register every principal when the storage
is formatted; ``server-props`` the SASL settings of ``server.properties``; ``client-props [PRINCIPAL]`` a Java client's
login (Kafka's tools); ``apply-acls`` every grant of ``shared/contracts/principals.py`` (as the admin; idempotent);
``acls`` prints them (for an operator of another cluster).
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.admin import CreateAclsRequest

from shared.contracts.principals import ADMIN, CONTROLLER, OPERATOR, Grant, Op, Pattern, all_grants, principals
from shared.kafka_auth import client_options, dev_kafka_dir, ensure_dev_credentials, java_client_properties
from shared.settings import CommonSettings

# Kafka's wire codes (org.apache.kafka.common.resource / acl enums).
_RESOURCE = {"topic": 2, "group": 3}
_PATTERN = {Pattern.LITERAL: 3, Pattern.PREFIXED: 4}
_OPERATION = {
    Op.READ: 3,
    Op.WRITE: 4,
    Op.CREATE: 5,
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


def server_props() -> str:
    """SASL on both listeners: SCRAM-SHA-512 for clients and the broker itself; PLAIN on the controller listener.

    KRaft has no SCRAM on the controller listener (SCRAM credentials live in the metadata the controller serves), so
    the controller authenticates with PLAIN and a principal of its own, bound to loopback.
    """
    known = _credentials()
    controller = known[CONTROLLER]
    return "\n".join(
        [
            "sasl.enabled.mechanisms=SCRAM-SHA-512",
            "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512",
            "sasl.mechanism.controller.protocol=PLAIN",
            "listener.name.controller.sasl.enabled.mechanisms=PLAIN",
            "listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule "
            f'required username="{CONTROLLER}" password="{controller}" user_{CONTROLLER}="{controller}";',
            "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config="
            f'org.apache.kafka.common.security.scram.ScramLoginModule required username="{ADMIN}" '
            f'password="{known[ADMIN]}";',
            "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "allow.everyone.if.no.acl.found=false",
            f"super.users=User:{ADMIN};User:{CONTROLLER}",
            "",
        ]
    )


async def apply_acls(bootstrap: str, grants: list[Grant]) -> int:
    """Create every grant (creating one that exists changes nothing); returns how many were sent."""
    settings = CommonSettings(kafka_bootstrap=bootstrap, kafka_username=None, dev_mode=True)  # the local stack
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **client_options(settings, principal=ADMIN))
    await admin.start()
    try:
        # aiokafka's admin client has no create_acls yet; its CreateAcls request is the Admin API's wire form.
        for grant in grants:
            request = CreateAclsRequest(
                _RESOURCE[grant.resource],
                grant.name,
                _PATTERN[grant.pattern],
                f"User:{grant.principal}",
                "*",
                _OPERATION[grant.op],
                _ALLOW,
            )
            response = await admin._send_request(request)
            for error_code, message in response.creation_responses:
                if error_code:
                    raise RuntimeError(f"ACL {grant} refused: {error_code} {message}")
    finally:
        await admin.close()
    return len(grants)


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
    args = parser.parse_args(argv)
    if args.command == "scram-args":
        print("\n".join(scram_args()))
    elif args.command == "server-props":
        print(server_props(), end="")
    elif args.command == "client-props":
        local = CommonSettings(dev_mode=True)  # the local stack's per-install credentials
        print(java_client_properties(client_options(local, principal=args.principal)), end="")
    elif args.command == "apply-acls":
        print(f"{asyncio.run(apply_acls(args.bootstrap, all_grants()))} ACLs applied")
    else:
        for g in all_grants():
            print(f"User:{g.principal}\t{g.resource}\t{g.pattern.value}\t{g.name}\t{g.op.value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
