"""What an office holder who reported reads about their own case: the stage, what happens next, where to find help.

The words, links and numbers are data (``services/intake/data/guidance.yaml``); this module only picks what fits a
case. Pure once loaded: the file is read once, at import of the first use.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict

from services.intake.domain import Case
from services.intake.values import CaseStatus
from shared.contracts.events import JUSTICE_FOLLOWUPS
from shared.contracts.incident import Channel, IncidentType
from shared.contracts.topics import Recipient
from shared.contracts.workflow import CaseStageChanged, ReporterStage

GUIDANCE_FILE = Path(__file__).resolve().parent / "data" / "guidance.yaml"


Stage = ReporterStage
"""Where a case stands, as the office holder who reported it reads it (a contract: ``CaseStageChanged`` tells it)."""


class _Data(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StageText(_Data):
    label: str
    next: str


class Resource(_Data):
    id: str
    title: str
    text: str
    url: str | None
    phone: str | None
    source: str
    when: Literal["always", "online", "aangifte", "home"]


class Guidance(_Data):
    stages: dict[Stage, StageText]
    resources: tuple[Resource, ...]


@cache
def guidance() -> Guidance:
    return Guidance.model_validate(yaml.safe_load(GUIDANCE_FILE.read_text(encoding="utf-8")))


def stage_of(case: Case) -> Stage:
    if case.closed:
        return Stage.CLOSED
    if any(f.kind in JUSTICE_FOLLOWUPS for f in case.followups):
        return Stage.AANGIFTE_FOLLOWUP
    if Recipient.POLICE in case.notifications:
        return Stage.POLICE_INFORMED
    if case.risk is not None or case.status is not CaseStatus.RECEIVED:
        return Stage.ASSESSED
    return Stage.RECEIVED


_ONLINE_TYPES = frozenset({IncidentType.ONLINE_HATE, IncidentType.DOXING})


def _fits(resource: Resource, case: Case) -> bool:
    facts = [entry.facts for entry in case.reports]
    if resource.when == "online":
        return any(f.channel is Channel.ONLINE or _ONLINE_TYPES & set(f.types) for f in facts)
    if resource.when == "aangifte":
        return any(f.wants_aangifte for f in facts)
    if resource.when == "home":
        return any(
            f.indicators.home_address_known
            or f.indicators.home_visited
            or f.channel is Channel.AT_HOME
            or IncidentType.HOME_VISIT in f.types
            for f in facts
        )
    return True


def for_reporter(case: Case) -> dict[str, Any]:
    """The stage, what happens next and the help that fits the case (no one else's data: only the case's facts)."""
    data = guidance()
    stage = stage_of(case)
    text = data.stages[stage]
    return {
        "stage": stage.value,
        "label": text.label,
        "next": text.next,
        "resources": [r.model_dump(exclude={"when"}) for r in data.resources if _fits(r, case)],
    }


def tell_reporters(case: Case, *, now: datetime) -> CaseStageChanged | None:
    """After a change of the case: tell its stage to the filers who consented to e-mail, if it moved."""
    return case.tell_reporters(stage_of(case), now=now)
