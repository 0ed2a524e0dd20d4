"""Who may do what on the broker: one Kafka principal per service and per liaison, with exactly its topics.

The broker denies by default (``StandardAuthorizer``, ``allow.everyone.if.no.acl.found=false``); these are the only
grants. ``deploy/local/stack.sh`` applies them (``python -m weerbaar.broker_acls``), and the operator of a production
cluster applies the same list (``weerbaar kafka-acls`` prints it). ``tests/e2e/test_broker_security.py`` checks every
principal, topic and read or write against the running broker.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from shared.contracts import topics
from shared.contracts.topics import Recipient, ack_topic, dlq_topic, notify_topic

SERVICES: Final = ("intake", "triage", "notify", "reporting")
ADMIN: Final = "weerbaar-admin"
"""The cluster's super user: provisions topics, credentials and ACLs. Never used by a service."""
OPERATOR: Final = "weerbaar-operator"
"""The CLI and the tests: reads and writes every weerbaar topic and group (``weerbaar kafka-credentials``)."""
CONTROLLER: Final = "weerbaar-controller"
"""The KRaft controller listener's own principal (SASL PLAIN: Kafka has no SCRAM on the controller listener)."""
DEV_MUNICIPALITIES: Final = ("GM0344", "GM0363", "GM0014", "GM0599")
"""Gemeenten whose liaison principal the local stack creates (others: ``weerbaar kafka-credentials --principal``)."""


class Op(StrEnum):
    READ = "Read"
    WRITE = "Write"
    CREATE = "Create"
    DELETE = "Delete"
    DESCRIBE = "Describe"
    DESCRIBE_CONFIGS = "DescribeConfigs"
    ALTER_CONFIGS = "AlterConfigs"


class Pattern(StrEnum):
    LITERAL = "LITERAL"
    PREFIXED = "PREFIXED"


@dataclass(frozen=True, slots=True, order=True)
class Grant:
    """One ACL: ``principal`` may ``op`` on the topic (or group) named ``name`` (or every name starting with it)."""

    principal: str
    resource: str  # "topic" | "group"
    name: str
    op: Op
    pattern: Pattern = Pattern.LITERAL


def service_principal(service: str) -> str:
    return f"weerbaar-{service}"


def liaison_principal(recipient: Recipient) -> str:
    return f"liaison-{recipient.value}"


def gemeente_principal(municipality: str) -> str:
    return f"gemeente-{municipality.lower()}"


_URGENT_WATCH = (
    topics.INCIDENT_URGENT,
    topics.CASE_TRIAGED_URGENT,
    topics.ACUTE_SIGNAL,
    notify_topic(Recipient.POLICE),
)
"""Every service's acute gate reads these keys (shared/messaging/lanes.py); the police topic marks a case as handled."""

PRODUCES: Final[dict[str, tuple[str, ...]]] = {
    "intake": (
        topics.INCIDENT_REPORTED,
        topics.INCIDENT_URGENT,
        topics.ACUTE_SIGNAL,
        topics.CASE_ERASED,
        topics.CASE_ASSESSED,
        topics.CASE_WORKFLOW,
        topics.CASE_FOLLOWUP,
        topics.AUDIT_ANCHORS,
        topics.CASE_STAGE,
    ),
    "triage": (topics.CASE_TRIAGED, topics.CASE_TRIAGED_URGENT, topics.INCIDENT_URGENT),
    "notify": (
        topics.NOTIFICATION_STATUS,
        *(notify_topic(r) for r in Recipient if r is not Recipient.BURGEMEESTER),
        *(dlq_topic(notify_topic(r)) for r in Recipient if r is not Recipient.BURGEMEESTER),
    ),
    "reporting": (topics.REPORT_STATS,),
}
CONSUMES: Final[dict[str, tuple[str, ...]]] = {
    "intake": (topics.INCIDENT_REPORTED, topics.CASE_TRIAGED, topics.NOTIFICATION_STATUS, topics.CASE_FOLLOWUP),
    "triage": (
        topics.INCIDENT_REPORTED,
        topics.INCIDENT_URGENT,
        topics.CASE_FOLLOWUP,
        topics.CASE_ASSESSED,
        topics.CASE_ERASED,
    ),
    "notify": (
        topics.INCIDENT_REPORTED,
        topics.INCIDENT_URGENT,
        topics.CASE_TRIAGED,
        topics.CASE_TRIAGED_URGENT,
        topics.NOTIFICATION_ACK,
        *topics.RECIPIENT_ACK_TOPICS,
        topics.CASE_FOLLOWUP,
        topics.CASE_ERASED,
        topics.CASE_STAGE,
    ),
    "reporting": (topics.CASE_TRIAGED, topics.NOTIFICATION_STATUS, topics.CASE_FOLLOWUP, topics.CASE_ERASED),
}
"""What each service reads and writes (its AsyncAPI document says the same; a test compares them)."""
READS_BESIDES: Final[dict[str, tuple[str, ...]]] = {"intake": (topics.AUDIT_ANCHORS,)}
"""Read outside a consumer: intake's audit watch compares the anchors with the audit chain."""

MUNICIPAL_PREFIX: Final = "weerbaar.notify.burgemeester."
"""Notify writes (and creates on first use) every municipality's burgemeester topic and its DLQ under this prefix."""
PATTERNS_CONSUMED: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    "notify": ((topics.BURGEMEESTER_ACK_PATTERN, topics.BURGEMEESTER_ACK_PREFIX),),
}
"""Topics a service reads by pattern (its AsyncAPI document names the pattern), with the prefix every match starts with:
notify reads every municipality's acknowledgements, whose topics appear with the municipality."""


def _topic(principal: str, name: str, *ops: Op, pattern: Pattern = Pattern.LITERAL) -> list[Grant]:
    return [Grant(principal, "topic", name, op, pattern) for op in ops]


def service_grants(service: str) -> list[Grant]:
    """A service: write what it produces and the DLQs of what it consumes; read what it consumes; any group."""
    who = service_principal(service)
    reads = sorted({*CONSUMES[service], *_URGENT_WATCH, *READS_BESIDES.get(service, ())})
    writes = sorted({*PRODUCES[service], *(dlq_topic(t) for t in CONSUMES[service])})
    grants = [g for name in reads for g in _topic(who, name, Op.READ, Op.DESCRIBE)]
    grants += [g for name in writes for g in _topic(who, name, Op.WRITE, Op.DESCRIBE)]
    if service == "intake":  # trims the hand-off topics behind their readers (shared/messaging/handoff.py)
        grants += [g for name in topics.HANDOFF_TOPICS for g in _topic(who, name, Op.DELETE)]
    if service == "notify":
        grants += _topic(who, MUNICIPAL_PREFIX, Op.WRITE, Op.CREATE, Op.DESCRIBE, pattern=Pattern.PREFIXED)
    for _, prefix in PATTERNS_CONSUMED.get(service, ()):
        # Read every match; write (and create) the DLQs of them, which share the prefix: a DLQ cannot be told apart
        # by prefix, so notify may also write the matches themselves (it is the service that applies them anyway).
        grants += _topic(who, prefix, Op.READ, Op.DESCRIBE, pattern=Pattern.PREFIXED)
        grants += _topic(who, prefix, Op.WRITE, Op.CREATE, pattern=Pattern.PREFIXED)
    # Consumer groups hold offsets, not data: a service may join any group (their names carry a configurable prefix).
    grants.append(Grant(who, "group", "*", Op.READ))
    return grants


def liaison_grants(principal: str, topic: str, acks: str, *, followups: bool = False) -> list[Grant]:
    """A liaison reads only its own topic, in groups named after itself, and acknowledges on its own ``acks`` topic
    (nobody else may write there: an acknowledgement can only be for itself); police and OM follow up."""
    grants = _topic(principal, topic, Op.READ, Op.DESCRIBE)
    grants += _topic(principal, acks, Op.WRITE, Op.CREATE, Op.DESCRIBE)
    if followups:
        grants += _topic(principal, topics.CASE_FOLLOWUP, Op.WRITE, Op.DESCRIBE)
    grants.append(Grant(principal, "group", principal, Op.READ, Pattern.PREFIXED))
    return grants


SCRATCH_PREFIXES: Final = ("test.", "bench.")
"""Topics the test suite and the benchmark create for themselves (the local stack only)."""


def operator_grants(prefixes: tuple[str, ...] = ("weerbaar.",)) -> list[Grant]:
    every = (Op.READ, Op.WRITE, Op.CREATE, Op.DESCRIBE, Op.DESCRIBE_CONFIGS, Op.ALTER_CONFIGS)
    return [
        *(g for prefix in prefixes for g in _topic(OPERATOR, prefix, *every, pattern=Pattern.PREFIXED)),
        Grant(OPERATOR, "group", "*", Op.READ),
    ]


def all_grants(
    municipalities: tuple[str, ...] = DEV_MUNICIPALITIES, *, scratch: tuple[str, ...] = SCRATCH_PREFIXES
) -> list[Grant]:
    """Every grant of the platform: services, liaisons (one per recipient, one per gemeente), the operator.

    ``scratch``: topic prefixes the operator may also use (the local stack's tests and benchmark; none in production).
    """
    grants = [g for service in SERVICES for g in service_grants(service)]
    for recipient in Recipient:
        if recipient is not Recipient.BURGEMEESTER:
            followups = recipient in (Recipient.POLICE, Recipient.OM)
            grants += liaison_grants(
                liaison_principal(recipient), notify_topic(recipient), ack_topic(recipient), followups=followups
            )
    for municipality in municipalities:
        grants += liaison_grants(
            gemeente_principal(municipality),
            topics.burgemeester_topic(municipality),
            ack_topic(Recipient.BURGEMEESTER, municipality),
        )
    return sorted({*grants, *operator_grants(("weerbaar.", *scratch))})


def principals(municipalities: tuple[str, ...] = DEV_MUNICIPALITIES) -> list[str]:
    """Every SCRAM principal the platform needs (the admin first)."""
    return [
        ADMIN,
        OPERATOR,
        *(service_principal(s) for s in SERVICES),
        *(liaison_principal(r) for r in Recipient if r is not Recipient.BURGEMEESTER),
        *(gemeente_principal(m) for m in municipalities),
    ]


def allowed(grants: list[Grant], principal: str, topic: str, op: Op) -> bool:
    """Whether ``grants`` let ``principal`` do ``op`` on ``topic`` (a literal name, or a prefix of it)."""
    return any(
        g.principal == principal
        and g.resource == "topic"
        and g.op is op
        and (topic == g.name if g.pattern is Pattern.LITERAL else topic.startswith(g.name))
        for g in grants
    )
