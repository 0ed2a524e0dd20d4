"""Synthetic, realistic incident reports shaped by the monitor's survey figures (no real people)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

FIRST = [
    "Anna",
    "Bram",
    "Carla",
    "Daan",
    "Eva",
    "Fatima",
    "Gijs",
    "Hanna",
    "Iris",
    "Jeroen",
    "Khadija",
    "Lars",
    "Mila",
    "Noah",
    "Olga",
    "Pieter",
    "Roos",
    "Sem",
    "Tessa",
    "Youssef",
]
LAST = [
    "de Vries",
    "Jansen",
    "Bakker",
    "Visser",
    "Smit",
    "Meijer",
    "de Boer",
    "Mulder",
    "de Groot",
    "Bos",
    "Vos",
    "Peters",
    "Hendriks",
    "van Leeuwen",
    "Dekker",
    "Brouwer",
    "El Amrani",
    "Yilmaz",
]
# (role, body kind, code prefix, digits, weight)
ROLES: list[tuple[str, str, str, int, float]] = [
    ("raadslid", "gemeente", "GM", 4, 70),
    ("wethouder", "gemeente", "GM", 4, 10),
    ("burgemeester", "gemeente", "GM", 4, 4),
    ("statenlid", "provincie", "PV", 2, 8),
    ("gedeputeerde", "provincie", "PV", 2, 2),
    ("waterschapsbestuurder", "waterschap", "WS", 4, 6),
]
DESCRIPTIONS = [
    "Beledigende reacties onder een bericht op sociale media na de raadsvergadering",
    "Anoniem bericht: 'we weten waar je woont'",
    "Iemand stond 's avonds voor de deur en wilde verhaal halen over het besluit",
    "Scheldpartij na afloop van de commissievergadering",
    "Dreigmail met de tekst dat het 'slecht met je afloopt'",
    "Persoonsgegevens en adres gedeeld in een Telegram-groep",
    "Ruit van de woning ingegooid",
    "Herhaalde berichten via meerdere kanalen, ook aan partner gericht",
]


# As many bodies as the Netherlands has (2025: 342 gemeenten, 12 provincies, 21 waterschappen), with codes drawn once
# from the ranges CBS uses. The count matters, not only for realism: every gemeente's burgemeester has a topic of its
# own, and drawing every number up to 1990 made ~1,500 topics whose first use kept notify refreshing metadata.
_CODES: dict[str, tuple[int, ...]] = {
    "gemeente": tuple(sorted(random.Random(342).sample(range(1, 1991), 342))),
    "provincie": tuple(range(20, 32)),
    "waterschap": tuple(sorted(random.Random(21).sample(range(1, 701), 21))),
}
MUNICIPALITIES: tuple[str, ...] = tuple(f"GM{code:04d}" for code in _CODES["gemeente"])
"""The gemeenten the synthetic reports come from (the codes as reports carry them)."""


def _body(rng: random.Random, kind: str, prefix: str, digits: int) -> dict[str, str]:
    return {"kind": kind, "code": f"{prefix}{rng.choice(_CODES[kind]):0{digits}d}"}


def incident(rng: random.Random, *, now: datetime | None = None, acute: bool | None = None) -> dict[str, Any]:
    """One synthetic report. Women are hit more (55% vs 37%), most aggression is online (~60%)."""
    now = now or datetime.now(UTC)
    role, kind, prefix, digits, _ = rng.choices(ROLES, weights=[r[4] for r in ROLES])[0]
    gender = rng.choices(["vrouw", "man", "anders"], weights=[52, 46, 2])[0]
    acute = rng.random() < 0.03 if acute is None else acute
    online = rng.random() < 0.62 and not acute
    types = (
        ["threat", "home_visit"]
        if acute
        else rng.choice(
            [
                ["verbal_aggression"],
                ["online_hate"],
                ["threat"],
                ["intimidation"],
                ["verbal_aggression", "online_hate"],
                ["doxing"],
                ["property_damage"],
            ]
        )
    )
    channel = "online" if online else rng.choice(["in_person", "phone", "mail", "at_home", "at_meeting"])
    if acute:
        channel = "at_home"
    indicators = {
        "home_address_known": acute or rng.random() < 0.15,
        "home_visited": acute,
        "explicit_threat": "threat" in types,
        "weapon_mentioned": acute and rng.random() < 0.5,
        "repeated_contact": rng.random() < 0.2,
    }
    on_behalf = rng.random() < 0.3
    report: dict[str, Any] = {
        "reported_by": (
            {"kind": "on_behalf", "organisation": rng.choice(["griffie", "OTWB"])} if on_behalf else {"kind": "self"}
        ),
        "office_holder": {
            "name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
            "role": role,
            "body": _body(rng, kind, prefix, digits),
            "gender": gender,
            "contact": {"email": f"ambtsdrager{rng.randint(1, 99999)}@example.nl"},
        },
        "incident": {
            "occurred_at": (now - timedelta(days=rng.uniform(0, 120))).isoformat(),
            "types": types,
            "channel": channel,
            "description": rng.choice(DESCRIPTIONS),
            "indicators": indicators,
            "impact_on_functioning": rng.random() < 0.3,
        },
        "wants_aangifte": acute or rng.random() < 0.12,
    }
    # Drawn last, so the fields above come out as before. Online aggression against women is more often personal.
    personal = 0.6 if gender == "vrouw" else 0.35
    report["incident"]["directed_at"] = rng.choices(
        ["person", "office", "both"], weights=[personal, 1 - personal, 0.15]
    )[0]
    if online:
        report["incident"]["platform"] = rng.choice(["X", "Facebook", "Instagram", "TikTok", "WhatsApp", "e-mail"])
    return report
