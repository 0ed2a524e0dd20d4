"""The case workflow on the streams: what the people who act did with a case (intake publishes; no free text).

Notes and reasons are free text that may name people: they stay in the case file (sealed at rest) and are read over
HTTP by whoever may read the case. The events say who did what, when, and to which part of the case.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from shared.contracts import topics
from shared.contracts.events import Event, RiskLevel
from shared.contracts.topics import Recipient


class WorkflowAction(StrEnum):
    ASSIGNED = "assigned"
    NOTE_ADDED = "note_added"
    CLOSED = "closed"
    REOPENED = "reopened"


class CaseWorkflow(Event):
    """Something a person did with a case: assigned (a recipient's part of) it, added a note, closed or reopened it."""

    ce_type: ClassVar[str] = "nl.weerbaar.case.workflow.v1"
    topic: ClassVar[str] = topics.CASE_WORKFLOW

    action: WorkflowAction
    actor_role: str = Field(max_length=40, description="The role of the person who acted (police, om, otwb, …)")
    actor_org: str | None = Field(
        default=None, max_length=200, description="Their organisation, if the token names one"
    )
    part: Recipient | None = Field(default=None, description="assigned: the recipient whose part of the case it is")
    assignee: str | None = Field(
        default=None, max_length=200, description="assigned: the staff identifier of the person of that organisation"
    )
    note_id: str | None = Field(default=None, max_length=64, description="note_added: the note's id in the case file")
    reopened_by_report: bool = Field(default=False, description="reopened: a new report of the incident reopened it")


class CaseAssessed(Event):
    """A human decision on a case's level (police, OM, burgemeester) beside triage's recommendation.

    Triage routes the decided level with its own rules and publishes a new ``CaseTriaged`` (trigger ``human``); a
    recipient notified before stays routed, so a downgrade never silently drops a notification.
    """

    ce_type: ClassVar[str] = "nl.weerbaar.case.assessed.v1"
    topic: ClassVar[str] = topics.CASE_ASSESSED

    decision_no: int = Field(ge=1, description="1 for the first human decision on the case, +1 for each next")
    level: RiskLevel
    recommended_level: RiskLevel | None = Field(default=None, description="Triage's level when the decision was made")
    decided_by_role: str = Field(max_length=40)
    decided_by_org: str | None = Field(default=None, max_length=200)


class ReporterStage(StrEnum):
    """Where a case stands, as the office holder who reported it reads it (``services/intake/guidance.py``)."""

    RECEIVED = "received"
    ASSESSED = "assessed"
    POLICE_INFORMED = "police_informed"
    AANGIFTE_FOLLOWUP = "aangifte_followup"
    CLOSED = "closed"


class CaseStageChanged(Event):
    """The stage a case's filers read changed; told only when a filer consented to e-mail at intake
    (``email_updates``), so that notify e-mails them a link to their case view. No address, no content."""

    ce_type: ClassVar[str] = "nl.weerbaar.case.stage.v1"
    topic: ClassVar[str] = topics.CASE_STAGE

    stage: ReporterStage
    report_ids: tuple[str, ...] = Field(
        min_length=1,
        description="The reports whose filers consented to e-mail about the case (notify has their address)",
    )
