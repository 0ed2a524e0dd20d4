"""Topic names: the one place they are spelled."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Literal


class Recipient(StrEnum):
    """Parties that receive notifications, each on a topic of its own."""

    POLICE = "police"
    OM = "om"
    JENV = "jenv"
    BZK = "bzk"
    BURGEMEESTER = "burgemeester"
    OTWB = "otwb"
    CCV = "ccv"


INCIDENT_REPORTED: Final = "weerbaar.incident.reported.v1"
CASE_TRIAGED: Final = "weerbaar.case.triaged.v1"
# The acute lane: copies of possibly acute reports and of high/critical decisions, on topics of their own, so
# that a backlog of routine work on the main topics can never delay them (same event ids; consumers dedupe).
INCIDENT_URGENT: Final = "weerbaar.incident.urgent.v1"
CASE_TRIAGED_URGENT: Final = "weerbaar.case.triaged.urgent.v1"
# Internal: intake's heads-up that a possibly acute report is being stored (keys only matter; nothing personal), so
# every service's routine work steps aside before the urgent record is even written (shared/messaging/lanes.py).
ACUTE_SIGNAL: Final = "weerbaar.acute.signal.v1"
NOTIFICATION_STATUS: Final = "weerbaar.notification.status.v1"
NOTIFICATION_ACK: Final = "weerbaar.notification.ack.v1"
"""Deprecated for liaisons (each writes its own ``ack_topic``): the operator's, for acknowledging on a recipient's
behalf (the CLI, tooling); notify still reads it. No liaison principal may write it, so none acks for another."""
CASE_FOLLOWUP: Final = "weerbaar.case.followup.v1"
REPORT_STATS: Final = "weerbaar.report.stats.v1"
CASE_ERASED: Final = "weerbaar.case.erased.v1"
# The case workflow of the people who act (intake): assignments, notes, closing and reopening (no free text), and
# the human decision on a case's level, which triage turns into routes (shared/contracts/workflow.py).
CASE_WORKFLOW: Final = "weerbaar.case.workflow.v1"
CASE_ASSESSED: Final = "weerbaar.case.assessed.v1"
# The stage of a case as its filers read it, told when a filer consented to e-mail (intake → notify; no personal data).
CASE_STAGE: Final = "weerbaar.case.stage.v1"

# The audit chain's head, anchored outside the database (shared/web/audit.py): append-only, kept forever, one partition.
AUDIT_ANCHORS: Final = "weerbaar.audit.anchors.v1"

DLQ_SUFFIX: Final = ".dlq"


def notify_topic(recipient: Recipient) -> str:
    """The topic that carries notifications for one recipient."""
    return f"weerbaar.notify.{recipient.value}.v1"


def burgemeester_topic(municipality: str) -> str:
    """The topic of one municipality's burgemeester (``GM0344`` → ``weerbaar.notify.burgemeester.gm0344.v1``).

    A gemeente's liaison reads only its own; ``weerbaar.notify.burgemeester.v1`` (one topic for all) is no longer
    written. Created on first use (the broker's auto-creation, or the operator ahead of time).
    """
    return f"weerbaar.notify.burgemeester.{municipality.lower()}.v1"


BURGEMEESTER_TOPIC_PATTERN: Final = "weerbaar.notify.burgemeester.{municipality}.v1"
"""How the per-municipality topics are named (``municipality`` in lower case: ``gm0344``)."""


ACK_PREFIX: Final = "weerbaar.notification.ack."
BURGEMEESTER_ACK_PREFIX: Final = ACK_PREFIX + "burgemeester."
BURGEMEESTER_ACK_PATTERN: Final = r"weerbaar\.notification\.ack\.burgemeester\.gm[0-9]+\.v1$"
"""The regular expression notify subscribes with to every municipality's acknowledgements (never their DLQs)."""


def ack_topic(recipient: Recipient, municipality: str | None = None) -> str:
    """Where one recipient acknowledges its notifications: a topic only that recipient's principal may write.

    ``weerbaar.notification.ack.police.v1``; a burgemeester per municipality, like its notifications
    (``GM0344`` → ``weerbaar.notification.ack.burgemeester.gm0344.v1``). Notify takes the topic as the acknowledger's
    identity: an acknowledgement there that names another recipient (or another municipality's notification) is
    dead-lettered, and the broker lets no other principal write the topic.
    """
    if recipient is Recipient.BURGEMEESTER:
        if not municipality:
            raise ValueError("a burgemeester acknowledges on its municipality's topic")
        return f"{BURGEMEESTER_ACK_PREFIX}{municipality.lower()}.v1"
    return f"{ACK_PREFIX}{recipient.value}.v1"


@dataclass(frozen=True, slots=True)
class AckSource:
    """Whom an acknowledgement topic speaks for (``None`` from ``ack_source``: the operator's shared topic)."""

    recipient: Recipient
    municipality: str | None = None
    """For a burgemeester: the municipality (``GM0344``)."""


def ack_source(topic: str) -> AckSource | None:
    """The recipient (and municipality) an acknowledgement topic belongs to; None for the operator's shared topic.

    Raises ``ValueError`` for a topic that is not an acknowledgement topic.
    """
    if topic == NOTIFICATION_ACK:
        return None
    name = topic.removeprefix(ACK_PREFIX).removesuffix(".v1")
    if not topic.startswith(ACK_PREFIX) or not topic.endswith(".v1"):
        raise ValueError(f"{topic} is not an acknowledgement topic")
    if name.startswith("burgemeester."):
        municipality = name.removeprefix("burgemeester.")
        if not re.fullmatch(r"gm[0-9]{4}", municipality):
            raise ValueError(f"{topic} names no municipality")
        return AckSource(Recipient.BURGEMEESTER, municipality.upper())
    try:
        recipient = Recipient(name)
    except ValueError:
        raise ValueError(f"{topic} names no recipient") from None
    if recipient is Recipient.BURGEMEESTER:
        raise ValueError(f"{topic} names no municipality")
    return AckSource(recipient)


RECIPIENT_ACK_TOPICS: Final[tuple[str, ...]] = tuple(ack_topic(r) for r in Recipient if r is not Recipient.BURGEMEESTER)
"""The acknowledgement topics of the recipients that are one party each (a burgemeester's are per municipality)."""


def dlq_topic(topic: str) -> str:
    """The dead-letter topic of a topic."""
    return topic + DLQ_SUFFIX


MAIN_TOPICS: Final[tuple[str, ...]] = (
    INCIDENT_REPORTED,
    INCIDENT_URGENT,
    CASE_TRIAGED,
    CASE_TRIAGED_URGENT,
    ACUTE_SIGNAL,
    NOTIFICATION_STATUS,
    NOTIFICATION_ACK,
    *RECIPIENT_ACK_TOPICS,
    CASE_FOLLOWUP,
    *(notify_topic(r) for r in Recipient),
    CASE_ERASED,
    CASE_WORKFLOW,
    CASE_ASSESSED,
    CASE_STAGE,
)
COMPACTED_TOPICS: Final[tuple[str, ...]] = (REPORT_STATS,)
AUDIT_TOPICS: Final[tuple[str, ...]] = (AUDIT_ANCHORS,)
CONSUMED_TOPICS: Final[tuple[str, ...]] = (
    INCIDENT_REPORTED,
    INCIDENT_URGENT,
    CASE_TRIAGED,
    CASE_TRIAGED_URGENT,
    NOTIFICATION_STATUS,
    NOTIFICATION_ACK,
    *RECIPIENT_ACK_TOPICS,
    CASE_FOLLOWUP,
    CASE_ERASED,
    CASE_ASSESSED,
    CASE_STAGE,
)
HANDOFF_TOPICS: Final[tuple[str, ...]] = (INCIDENT_REPORTED, INCIDENT_URGENT, CASE_TRIAGED_URGENT)
"""Topics that hand a record over and hold it only until every service that reads it has taken it: a bulk or
automated source writes its reports there in clear, which no per-case key reaches, and the acute lane's copy of a
decision carries the office holder's pseudonym, which no erasure republishes there; so intake trims them behind the
readers (``shared/messaging/handoff.py``); their retention is only the bound for a reader that is away."""
DELIVERY_DLQ_TOPICS: Final[tuple[str, ...]] = tuple(dlq_topic(notify_topic(r)) for r in Recipient)
"""Where notify dead-letters a notification whose webhook delivery failed for good."""
ALL_TOPICS: Final[tuple[str, ...]] = (
    *MAIN_TOPICS,
    *COMPACTED_TOPICS,
    *AUDIT_TOPICS,
    *(dlq_topic(t) for t in CONSUMED_TOPICS),
    *DELIVERY_DLQ_TOPICS,
)


def municipal_topics(municipality: str) -> tuple[str, ...]:
    """One municipality's burgemeester topics (notifications, acknowledgements) and their DLQs, for provisioning."""
    names = (burgemeester_topic(municipality), ack_topic(Recipient.BURGEMEESTER, municipality))
    return (*names, *(dlq_topic(name) for name in names))


# --- retention: every topic keeps what it carries only as long as its content needs -------------------------------

DAY_MS: Final = 24 * 3600 * 1000


@dataclass(frozen=True, slots=True)
class TopicPolicy:
    """How long a topic keeps its records (set when the topic is created, and on every provisioning run)."""

    cleanup: Literal["delete", "compact", "compact,delete"]
    retention_days: int | None
    """None: kept forever (``retention.ms=-1``)."""
    why: str
    partitions: int | None = None
    """None: the cluster's default for weerbaar topics."""
    compacted_within_ms: int = DAY_MS
    """``compact,delete``: how long a record a newer one of its key replaced may stay (``max.compaction.lag.ms``; the
    broker rolls the active segment by then too, at the next record)."""

    def configs(self) -> dict[str, str]:
        if self.cleanup == "compact":
            return {"cleanup.policy": "compact", "min.cleanable.dirty.ratio": "0.1", "retention.ms": "-1"}
        retention = "-1" if self.retention_days is None else str(self.retention_days * DAY_MS)
        if self.cleanup == "compact,delete":
            lag = str(self.compacted_within_ms)
            return {"cleanup.policy": "compact,delete", "retention.ms": retention, "max.compaction.lag.ms": lag}
        return {"cleanup.policy": "delete", "retention.ms": retention}


REPORT_DAYS: Final = 30
"""Topics with personal data (reports, recipients' payloads, dead letters of them): long enough for every consumer to
catch up after an outage and for a dead letter to be looked into, not longer."""
FACT_DAYS: Final = 730
"""Non-personal facts (assessments, delivery states, follow-ups): as long as a closed case is kept (the retention
period of intake's sweep), so reporting can be rebuilt from the log (``weerbaar replay``)."""

_PERSONAL = TopicPolicy("delete", REPORT_DAYS, "the report with personal data; consumers keep their own copy")
_FACTS = TopicPolicy("delete", FACT_DAYS, "non-personal facts of a case; reporting replays them")
_URGENT = TopicPolicy("delete", 7, "a copy of the main topic's record for the acute lane; useless after hours")
DECISIONS: Final = TopicPolicy(
    "compact,delete",
    FACT_DAYS,
    "a case's assessments with its office holder's pseudonym: an erased case's latest decision is published again "
    "without it, and compaction drops the earlier ones within a day",
)
POLICIES: Final[dict[str, TopicPolicy]] = {
    INCIDENT_REPORTED: _PERSONAL,
    INCIDENT_URGENT: _URGENT,
    CASE_TRIAGED: DECISIONS,
    CASE_TRIAGED_URGENT: _URGENT,
    ACUTE_SIGNAL: TopicPolicy("delete", 1, "keys only: a heads-up for the next seconds"),
    NOTIFICATION_STATUS: _FACTS,
    NOTIFICATION_ACK: _FACTS,
    **dict.fromkeys(RECIPIENT_ACK_TOPICS, _FACTS),
    CASE_FOLLOWUP: _FACTS,
    **{
        notify_topic(r): TopicPolicy(
            "delete", REPORT_DAYS, "a recipient's payload with personal data; the liaison keeps its own copy"
        )
        for r in Recipient
    },
    CASE_ERASED: TopicPolicy("delete", None, "an erasure must outlive every copy it erases; it holds only ids"),
    CASE_WORKFLOW: TopicPolicy(
        "delete", 90, "who did what with a case (staff ids, organisations); the case file in intake keeps the state"
    ),
    CASE_ASSESSED: _FACTS,
    CASE_STAGE: _FACTS,
    REPORT_STATS: TopicPolicy("compact", None, "aggregate cells, one record per cell: the latest value is the state"),
    AUDIT_ANCHORS: TopicPolicy(
        "delete", None, "the audit chain's anchors: append-only, never compacted, never deleted", partitions=1
    ),
}
DLQ_POLICY: Final = TopicPolicy("delete", REPORT_DAYS, "failed records (possibly personal) until looked into")


def policy_of(topic: str) -> TopicPolicy:
    """The retention policy of any weerbaar topic (dead letters and per-municipality topics included)."""
    if topic.endswith(DLQ_SUFFIX):
        return DLQ_POLICY
    if topic.startswith("weerbaar.notify.burgemeester."):
        return POLICIES[notify_topic(Recipient.BURGEMEESTER)]
    if topic.startswith(BURGEMEESTER_ACK_PREFIX):
        return POLICIES[NOTIFICATION_ACK]
    return POLICIES[topic]
