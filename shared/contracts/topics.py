"""Topic names: the one place they are spelled."""

from __future__ import annotations

from enum import StrEnum
from typing import Final


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
# every service's routine work steps aside before the urgent record is even written (shared/lanes.py).
ACUTE_SIGNAL: Final = "weerbaar.acute.signal.v1"
NOTIFICATION_STATUS: Final = "weerbaar.notification.status.v1"
NOTIFICATION_ACK: Final = "weerbaar.notification.ack.v1"
CASE_FOLLOWUP: Final = "weerbaar.case.followup.v1"
REPORT_STATS: Final = "weerbaar.report.stats.v1"
CASE_ERASED: Final = "weerbaar.case.erased.v1"
# The case workflow of the people who act (intake): assignments, notes, closing and reopening (no free text), and
# the human decision on a case's level, which triage turns into routes (shared/contracts/workflow.py).
CASE_WORKFLOW: Final = "weerbaar.case.workflow.v1"
CASE_ASSESSED: Final = "weerbaar.case.assessed.v1"

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
    CASE_FOLLOWUP,
    *(notify_topic(r) for r in Recipient),
    CASE_ERASED,
    CASE_WORKFLOW,
    CASE_ASSESSED,
)
COMPACTED_TOPICS: Final[tuple[str, ...]] = (REPORT_STATS,)
CONSUMED_TOPICS: Final[tuple[str, ...]] = (
    INCIDENT_REPORTED,
    INCIDENT_URGENT,
    CASE_TRIAGED,
    CASE_TRIAGED_URGENT,
    NOTIFICATION_STATUS,
    NOTIFICATION_ACK,
    CASE_FOLLOWUP,
    CASE_ERASED,
    CASE_ASSESSED,
)
DELIVERY_DLQ_TOPICS: Final[tuple[str, ...]] = tuple(dlq_topic(notify_topic(r)) for r in Recipient)
"""Where notify dead-letters a notification whose webhook delivery failed for good."""
ALL_TOPICS: Final[tuple[str, ...]] = (
    *MAIN_TOPICS,
    *COMPACTED_TOPICS,
    *(dlq_topic(t) for t in CONSUMED_TOPICS),
    *DELIVERY_DLQ_TOPICS,
)
