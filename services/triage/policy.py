"""The risk policy as data: factors, weights, thresholds, text rules and routing, validated at start-up.

The policy file (YAML) is versioned in the repository; every decision records the version it was made with.
A policy that does not validate refuses to load, naming the place that is wrong.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from services.triage.errors import PolicyError
from shared.contracts.events import FollowupKind, RiskLevel
from shared.contracts.incident import BodyKind, Channel, IncidentType, Indicators
from shared.contracts.topics import Recipient

DEFAULT_POLICY_PATH = Path(__file__).resolve().parent / "policies" / "policy-v1.yaml"

HISTORY_SIGNALS = frozenset({"prior_incident", "repeated", "several_channels", "escalation"})
FLAGS = frozenset({"impact_on_functioning", "wants_aangifte"})
PERPETRATORS = frozenset({"known", "unknown", "repeat"})
TRIGGER_KINDS = ("indicator", "type", "channel", "text", "history", "perpetrator", "flag")

Code = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_.]*$", max_length=60)]
Text = Annotated[str, Field(min_length=5, max_length=300)]
_MODEL = ConfigDict(frozen=True, extra="forbid")


def _compile(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from exc
    return pattern


class FactorSpec(BaseModel):
    """One risk factor: fires when any of its triggers does, and then counts its weight once."""

    model_config = _MODEL
    code: Code
    weight: float = Field(ge=0, le=100)
    explanation: Text
    triggers: tuple[str, ...] = Field(min_length=1)

    @field_validator("triggers")
    @classmethod
    def _known_triggers(cls, triggers: tuple[str, ...]) -> tuple[str, ...]:
        for trigger in triggers:
            kind, _, name = trigger.partition(":")
            allowed: frozenset[str] | None = {
                "indicator": frozenset(Indicators.model_fields),
                "type": frozenset(t.value for t in IncidentType),
                "channel": frozenset(c.value for c in Channel),
                "history": HISTORY_SIGNALS,
                "perpetrator": PERPETRATORS,
                "flag": FLAGS,
                "text": None,  # checked against the text rules by the policy
            }.get(kind, frozenset())
            if allowed is not None and name not in allowed:
                raise ValueError(f"unknown trigger {trigger!r}; kinds are {', '.join(TRIGGER_KINDS)}")
        return triggers


class TextRule(BaseModel):
    """A transparent phrase rule: a regex on the lower-cased, accent-free description raises a text signal."""

    model_config = _MODEL
    id: Code
    signal: Code
    pattern: str = Field(min_length=2)

    _valid_pattern = field_validator("pattern")(_compile)


class Thresholds(BaseModel):
    """Lowest score of each level above ``low``; must rise strictly."""

    model_config = _MODEL
    medium: float = Field(gt=0)
    high: float
    critical: float

    @model_validator(mode="after")
    def _rising(self) -> Thresholds:
        if not self.medium < self.high < self.critical:
            raise ValueError("thresholds must rise strictly: medium < high < critical")
        return self


class History(BaseModel):
    model_config = _MODEL
    window_days: int = Field(ge=1, le=3650)
    repeated_min_earlier: int = Field(ge=1)
    several_channels_min: int = Field(ge=2)


class Condition(BaseModel):
    """All given conditions must hold (an empty condition always holds)."""

    model_config = _MODEL
    levels: tuple[RiskLevel, ...] | None = None
    wants_aangifte: bool | None = None
    any_factor: tuple[Code, ...] | None = None
    body_kinds: tuple[BodyKind, ...] | None = None


class RouteRule(BaseModel):
    model_config = _MODEL
    recipient: Recipient
    reason: Text
    when: Condition = Condition()


class FollowupRule(BaseModel):
    """A follow-up that changes the picture adds a factor and re-assesses; others are informational."""

    model_config = _MODEL
    id: Code
    kind: FollowupKind
    outcome_pattern: str | None = None
    code: Code
    weight: float = Field(ge=0, le=100)
    explanation: Text

    _valid_pattern = field_validator("outcome_pattern")(lambda v: v if v is None else _compile(v))


class Policy(BaseModel):
    """The whole risk model of one version."""

    model_config = _MODEL
    version: Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]+$", max_length=40)]
    thresholds: Thresholds
    history: History
    factors: tuple[FactorSpec, ...] = Field(min_length=1)
    text_rules: tuple[TextRule, ...] = ()
    authorities: dict[BodyKind, Text]
    routes: tuple[RouteRule, ...] = Field(min_length=1)
    followups: tuple[FollowupRule, ...] = ()
    level_held_explanation: Text

    @model_validator(mode="after")
    def _consistent(self) -> Policy:
        codes = [f.code for f in self.factors]
        duplicates = {c for c in codes if codes.count(c) > 1}
        if duplicates:
            raise ValueError(f"factor codes must be unique: {sorted(duplicates)}")
        rule_ids = [r.id for r in self.text_rules]
        if len(set(rule_ids)) != len(rule_ids):
            raise ValueError("text rule ids must be unique")
        signals = {r.signal for r in self.text_rules}
        for factor in self.factors:
            for trigger in factor.triggers:
                kind, _, name = trigger.partition(":")
                if kind == "text" and name not in signals:
                    raise ValueError(f"factor {factor.code!r}: trigger {trigger!r} has no text rule")
        known = set(codes) | {f.code for f in self.followups}
        for number, rule in enumerate(self.routes):
            unknown = set(rule.when.any_factor or ()) - known
            if unknown:
                raise ValueError(f"routes.{number} ({rule.recipient}): unknown factor codes {sorted(unknown)}")
        missing = set(BodyKind) - set(self.authorities)
        if missing:
            raise ValueError(f"authorities: missing body kinds {sorted(missing)}")
        _check_templates(self)
        return self

    def threshold(self, level: RiskLevel) -> float:
        return 0.0 if level is RiskLevel.LOW else float(getattr(self.thresholds, level.value))


def _check_templates(policy: Policy) -> None:
    """Route reasons may use ``{authority}``, authorities ``{body_code}`` and ``{municipality}``; nothing else."""
    for kind, text in policy.authorities.items():
        try:
            text.format(body_code="GM0000", municipality="GM0000")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"authorities.{kind}: only {{body_code}} and {{municipality}} ({exc!r})") from exc
    for number, rule in enumerate(policy.routes):
        try:
            rule.reason.format(authority="x")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"routes.{number}.reason: only {{authority}} may be used ({exc!r})") from exc


def _location(error: dict[str, object]) -> str:
    loc = error.get("loc")
    return ".".join(str(part) for part in loc) if isinstance(loc, tuple) and loc else "(policy)"


def parse_policy(data: object, *, source: str = "policy") -> Policy:
    """Validate policy data; a bad policy raises ``PolicyError`` naming every field that is wrong."""
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{_location(dict(e))}: {e['msg']}" for e in exc.errors())
        raise PolicyError(f"{source} is not a valid risk policy: {problems}") from exc


def load_policy(path: Path) -> Policy:
    """Read and validate the policy file at ``path``."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PolicyError(f"cannot read risk policy {path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise PolicyError(f"risk policy {path} is not valid YAML: {exc}") from exc
    return parse_policy(data, source=f"risk policy {path}")
