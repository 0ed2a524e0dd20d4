"""The modelaangifte: a pre-filled criminal report the police can take over (structured, versioned)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.incident import BodyKind, Channel, IncidentType, ReporterKind, Role

_MODEL = ConfigDict(frozen=True, extra="forbid")


class Qualification(BaseModel):
    """An indicative criminal-law qualification (the police and OM decide)."""

    model_config = _MODEL
    article: str = Field(description="e.g. 'art. 285 Sr'")
    title: str = Field(description="e.g. 'bedreiging'")
    incident_types: tuple[IncidentType, ...]


class EvidenceItem(BaseModel):
    """A piece of evidence the office holder is asked to bring or upload; filled in by the police."""

    model_config = _MODEL
    description: str
    provided: bool = False


class CorrespondenceChoice(StrEnum):
    OFFICE = "office"


class Correspondence(BaseModel):
    """Where the police write to: the office (griffie) address of the body, never the home address."""

    model_config = _MODEL
    choice: CorrespondenceChoice = CorrespondenceChoice.OFFICE
    body_kind: BodyKind
    body_code: str
    note: str


class Aangifte(BaseModel):
    """Structured, pre-filled aangifte; carried inside the police notification when an aangifte is wanted."""

    model_config = _MODEL
    schema_version: Literal[1] = 1
    aangever_name: str
    aangever_role: Role
    reported_by: ReporterKind
    reported_by_organisation: str | None
    contact_email: str | None
    contact_phone: str | None
    correspondence: Correspondence
    occurred_at: datetime
    reported_at: datetime
    channel: Channel
    platform: str | None
    incident_types: tuple[IncidentType, ...]
    facts: str = Field(description="The office holder's own account, verbatim")
    perpetrator: Literal["known", "unknown", "repeat"]
    circumstances: tuple[str, ...] = Field(description="Threat indicators the reporter ticked")
    qualifications: tuple[Qualification, ...]
    evidence: tuple[EvidenceItem, ...]
    aggravation_note: str = Field(description="Why the office matters for the penalty")
