"""The incident report body: what an office holder (or someone on their behalf) reports."""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, ValidationInfo, field_validator, model_validator

MAX_DESCRIPTION_CHARS = 10_000
MAX_ATTACHMENTS = 5
MAX_ATTACHMENT_BYTES = 96 * 1024  # decoded size of one attachment (screenshots, saved messages)
PROVINCE_CODES = frozenset(f"PV{n}" for n in range(20, 32))  # CBS: PV20 Groningen … PV31 Limburg


class Role(StrEnum):
    RAADSLID = "raadslid"
    STATENLID = "statenlid"
    WATERSCHAPSBESTUURDER = "waterschapsbestuurder"
    BURGEMEESTER = "burgemeester"
    WETHOUDER = "wethouder"
    GEDEPUTEERDE = "gedeputeerde"


class BodyKind(StrEnum):
    GEMEENTE = "gemeente"
    PROVINCIE = "provincie"
    WATERSCHAP = "waterschap"


class IncidentType(StrEnum):
    VERBAL_AGGRESSION = "verbal_aggression"
    THREAT = "threat"
    INTIMIDATION = "intimidation"
    PHYSICAL_VIOLENCE = "physical_violence"
    ONLINE_HATE = "online_hate"
    DOXING = "doxing"
    STALKING = "stalking"
    HOME_VISIT = "home_visit"
    PROPERTY_DAMAGE = "property_damage"
    SEXUAL_INTIMIDATION = "sexual_intimidation"
    OTHER = "other"


class Channel(StrEnum):
    ONLINE = "online"
    IN_PERSON = "in_person"
    PHONE = "phone"
    MAIL = "mail"
    AT_HOME = "at_home"
    AT_MEETING = "at_meeting"


class Gender(StrEnum):
    VROUW = "vrouw"
    MAN = "man"
    ANDERS = "anders"
    ONBEKEND = "onbekend"


class DirectedAt(StrEnum):
    """Whether the aggression was aimed at the person (looks, gender, family, private life) or at the office."""

    PERSON = "person"
    OFFICE = "office"
    BOTH = "both"
    UNKNOWN = "unknown"


class Platform(StrEnum):
    """Where an online incident happened: a fixed vocabulary for figures (the report's free text is mapped onto it)."""

    X = "x"
    FACEBOOK = "facebook"
    INSTAGRAM = "instagram"
    TIKTOK = "tiktok"
    YOUTUBE = "youtube"
    LINKEDIN = "linkedin"
    WHATSAPP = "whatsapp"
    TELEGRAM = "telegram"
    EMAIL = "email"
    OTHER = "other"


_PLATFORM_WORDS: tuple[tuple[Platform, tuple[str, ...]], ...] = (
    (Platform.X, ("twitter", "x.com", "tweet")),
    (Platform.FACEBOOK, ("facebook", "fb", "messenger")),
    (Platform.INSTAGRAM, ("instagram", "insta")),
    (Platform.TIKTOK, ("tiktok", "tik tok")),
    (Platform.YOUTUBE, ("youtube",)),
    (Platform.LINKEDIN, ("linkedin",)),
    (Platform.WHATSAPP, ("whatsapp", "whats app")),
    (Platform.TELEGRAM, ("telegram",)),
    (Platform.EMAIL, ("e-mail", "email", "mail")),
)


def platform_of(text: str | None) -> Platform | None:
    """The platform a report's free-text ``platform`` names, ``other`` when none is recognised, None when empty."""
    if not text or not text.strip():
        return None
    words = re.sub(r"[^a-z0-9.\- ]", " ", text.lower())
    if words.strip() == "x":
        return Platform.X
    for platform, names in _PLATFORM_WORDS:
        if any(re.search(rf"(^|[^a-z]){re.escape(name)}($|[^a-z])", words) for name in names):
            return platform
    return Platform.OTHER


class ReporterKind(StrEnum):
    SELF = "self"
    ON_BEHALF = "on_behalf"


BODY_CODE_PATTERNS: dict[BodyKind, re.Pattern[str]] = {
    BodyKind.GEMEENTE: re.compile(r"^GM\d{4}$"),
    BodyKind.PROVINCIE: re.compile(r"^PV\d{2}$"),
    BodyKind.WATERSCHAP: re.compile(r"^WS\d{4}$"),
}

_MODEL = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Body(BaseModel):
    """The representative body the office holder belongs to (CBS-style code)."""

    model_config = _MODEL
    kind: BodyKind
    code: str = Field(min_length=4, max_length=6)

    @model_validator(mode="after")
    def _code_matches_kind(self) -> Body:
        if not BODY_CODE_PATTERNS[self.kind].match(self.code):
            expected = {"gemeente": "GMnnnn", "provincie": "PVnn", "waterschap": "WSnnnn"}[self.kind]
            raise ValueError(f"code {self.code!r} is not a {self.kind} code ({expected})")
        if self.kind is BodyKind.PROVINCIE and self.code not in PROVINCE_CODES:
            raise ValueError(f"unknown province code {self.code!r} (PV20 Groningen … PV31 Limburg)")
        if self.kind is BodyKind.GEMEENTE and self.code == "GM0000":
            raise ValueError("unknown municipality code GM0000")
        return self


class Contact(BaseModel):
    model_config = _MODEL
    email: EmailStr | None = None
    phone: Annotated[str, Field(pattern=r"^\+?[0-9 ()-]{6,20}$")] | None = None


class OfficeHolder(BaseModel):
    model_config = _MODEL
    name: str = Field(min_length=1, max_length=200)
    role: Role
    body: Body
    gender: Gender = Gender.ONBEKEND
    contact: Contact = Contact()
    residence_municipality: str | None = Field(
        default=None,
        pattern=r"^GM\d{4}$",
        description="Municipality (GMnnnn) where the office holder lives: its burgemeester is the authority for "
        "protective measures at the home (needed for provincie and waterschap office holders)",
    )


class Reporter(BaseModel):
    model_config = _MODEL
    kind: ReporterKind
    organisation: str | None = Field(default=None, max_length=200)
    email: EmailStr | None = Field(
        default=None,
        description="The filer's own address for e-mail about the case (email_updates), if not the office holder's",
    )

    @model_validator(mode="after")
    def _on_behalf_needs_organisation(self) -> Reporter:
        if self.kind is ReporterKind.ON_BEHALF and not self.organisation:
            raise ValueError("organisation is required when reporting on behalf of the office holder")
        return self


class Indicators(BaseModel):
    """Threat indicators the reporter can tick (all optional, default unknown/false)."""

    model_config = _MODEL
    home_address_known: bool = False
    home_visited: bool = False
    explicit_threat: bool = False
    weapon_mentioned: bool = False
    approach_intent: bool = False
    repeated_contact: bool = False
    multiple_channels: bool = False
    family_targeted: bool = False


class Attachment(BaseModel):
    """Evidence attached to a report (a screenshot, a saved message), base64-encoded."""

    model_config = _MODEL
    filename: str = Field(min_length=1, max_length=200)
    media_type: Literal["image/png", "image/jpeg", "application/pdf", "text/plain", "message/rfc822"]
    data_base64: str = Field(min_length=4, max_length=(MAX_ATTACHMENT_BYTES * 4) // 3 + 4)

    @field_validator("data_base64")
    @classmethod
    def _is_base64(cls, value: str) -> str:
        try:
            decoded = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("data_base64 is not valid base64") from exc
        if len(decoded) > MAX_ATTACHMENT_BYTES:
            raise ValueError(f"attachment larger than {MAX_ATTACHMENT_BYTES} bytes")
        return value


class Incident(BaseModel):
    model_config = _MODEL
    occurred_at: datetime
    types: list[IncidentType] = Field(min_length=1, max_length=len(IncidentType))
    channel: Channel
    platform: str | None = Field(default=None, max_length=100)
    description: str = Field(default="", max_length=MAX_DESCRIPTION_CHARS)
    perpetrator: Literal["known", "unknown", "repeat"] = "unknown"
    perpetrator_handle: str | None = Field(
        default=None,
        max_length=200,
        description="Account name, phone number or name of a known perpetrator; only ever stored as a keyed pseudonym "
        "outside intake, used to link incidents by the same perpetrator",
    )
    indicators: Indicators = Indicators()
    impact_on_functioning: bool = False
    municipality: str | None = Field(
        default=None, pattern=r"^GM\d{4}$", description="Municipality (GMnnnn) where it happened, when known"
    )
    directed_at: DirectedAt = Field(
        default=DirectedAt.UNKNOWN,
        description="Aimed at the person (appearance, gender, family, private life), at the office, or both",
    )

    @field_validator("occurred_at")
    @classmethod
    def _not_in_future(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("occurred_at needs a timezone offset, e.g. +01:00")
        if value > datetime.now(UTC) + timedelta(minutes=5):
            raise ValueError("occurred_at lies in the future")
        return value

    @field_validator("types")
    @classmethod
    def _unique_types(cls, value: list[IncidentType]) -> list[IncidentType]:
        return list(dict.fromkeys(value))


class IncidentReport(BaseModel):
    """The body of POST /v1/incidents, and the report carried on incident.reported.v1."""

    model_config = _MODEL
    reported_by: Reporter
    office_holder: OfficeHolder
    incident: Incident
    wants_aangifte: bool = False
    consent_share_with_police: bool = True
    attachments: list[Attachment] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)
    email_updates: bool = Field(
        default=False,
        description="Consent: each change of the case's stage reaches the filer by e-mail (only a link to their case "
        "view, no case content), at reported_by.email, else (reporting for oneself) office_holder.contact.email",
    )

    @field_validator("email_updates")
    @classmethod
    def _updates_need_an_address(cls, value: bool, info: ValidationInfo) -> bool:
        reporter, holder = info.data.get("reported_by"), info.data.get("office_holder")
        own = holder.contact.email if holder and reporter and reporter.kind is ReporterKind.SELF else None
        if value and not (reporter and reporter.email) and not own:
            raise ValueError(
                "email_updates needs the filer's address: reported_by.email (or, reporting for oneself, "
                "office_holder.contact.email)"
            )
        return value

    @property
    def updates_address(self) -> str | None:
        """Where e-mail about the case goes, when the filer consented (``email_updates``); None otherwise."""
        if not self.email_updates:
            return None
        if self.reported_by.email or self.reported_by.kind is not ReporterKind.SELF:
            return self.reported_by.email  # on behalf: the filer's own address, never the office holder's
        return self.office_holder.contact.email


EXAMPLE_REPORT: dict[str, object] = {
    "reported_by": {"kind": "self"},
    "office_holder": {
        "name": "A. Voorbeeld",
        "role": "raadslid",
        "body": {"kind": "gemeente", "code": "GM0344"},
        "gender": "vrouw",
        "contact": {"email": "s.devries@example.nl"},
    },
    "incident": {
        "occurred_at": "2026-11-20T21:30:00+01:00",
        "types": ["threat"],
        "channel": "online",
        "description": "Bericht op sociale media: 'we weten waar je woont'",
        "indicators": {"home_address_known": True, "explicit_threat": True},
        "impact_on_functioning": True,
    },
    "wants_aangifte": True,
}
"""The contract's example report (the README's "Try it" and the OpenAPI document's example)."""
