"""Keyed pseudonyms: count distinct office holders without ever carrying a name."""

from __future__ import annotations

import hashlib
import hmac
import unicodedata

from shared.contracts.incident import OfficeHolder


def _normalise(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(folded.lower().replace(".", " ").split())


def perpetrator_ref(handle: str, *, key: bytes) -> str:
    """Keyed pseudonym of a perpetrator's handle (account, phone, name), to link incidents without storing it."""
    material = "perp|" + _normalise(handle.lstrip("@"))
    return "pp_" + hmac.new(key, material.encode(), hashlib.sha256).hexdigest()[:32]


def office_holder_ref(holder: OfficeHolder, *, key: bytes) -> str:
    """HMAC-SHA256 of normalised name + body code: stable per person and body, useless without the key."""
    material = f"{_normalise(holder.name)}|{holder.body.code}".encode()
    return "oh_" + hmac.new(key, material, hashlib.sha256).hexdigest()[:32]
