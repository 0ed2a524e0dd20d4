"""Province of a representative body, from a small committed table (unknown codes report as ``onbekend``)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

UNKNOWN = "onbekend"
_TABLE = Path(__file__).with_name("data") / "provinces.json"


@cache
def _table() -> tuple[dict[str, str], dict[str, str]]:
    raw = json.loads(_TABLE.read_text(encoding="utf-8"))
    return dict(raw["provinces"]), dict(raw["gemeenten"])


def province_of(body_kind: str, body_code: str) -> str:
    """The province name of a body: exact for provincies, a subset for gemeenten, never for waterschappen."""
    provinces, gemeenten = _table()
    if body_kind == "provincie":
        return provinces.get(body_code, UNKNOWN)
    if body_kind == "gemeente":
        return provinces.get(gemeenten.get(body_code, ""), UNKNOWN)
    return UNKNOWN
