"""Encryption at rest of personal fields: AES-256-GCM, the key id stored with every ciphertext.

``WEERBAAR_DATA_KEYS`` holds every key still needed to decrypt (``{"kid": "base64 of 32 bytes"}``);
``WEERBAAR_DATA_KEY_ID`` names the one that encrypts. Rotation: add a key, make it active, keep the old one until
the data it sealed is re-sealed (``weerbaar keys reseal``) or erased. Dev mode uses the checkout's generated
key (``shared.security.keys``); outside dev mode there is no default.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.runtime.settings import CommonSettings

PREFIX = "enc:v1"
CASE_PREFIX = "case:v1"
"""A value sealed with a case's own key (crypto-shredding): ``case:v1:<nonce>:<ciphertext>``."""


class DecryptionError(Exception):
    """A sealed value that cannot be opened: unknown key id, wrong context or tampered ciphertext."""


class DataCipher:
    def __init__(self, keys: dict[str, bytes], active: str) -> None:
        if active not in keys:
            raise ValueError(f"the active data key {active!r} is not among the configured keys")
        for kid, key in keys.items():
            if len(key) != 32:
                raise ValueError(f"data key {kid!r} is not 32 bytes")
            if ":" in kid:
                raise ValueError(f"data key id {kid!r} contains ':'")
        self._keys = {kid: AESGCM(key) for kid, key in keys.items()}
        self.active = active

    @classmethod
    def from_settings(cls, settings: CommonSettings) -> DataCipher:
        if settings.data_keys is None or not settings.data_key_id:  # the settings refuse this already
            raise RuntimeError("WEERBAAR_DATA_KEYS and WEERBAAR_DATA_KEY_ID are required")
        return cls(parse_keys(settings.data_keys.get_secret_value()), settings.data_key_id)

    def seal(self, plaintext: bytes, *, context: str) -> str:
        """``enc:v1:<kid>:<nonce>:<ciphertext>``; ``context`` (e.g. the case id) is bound as associated data."""
        nonce = os.urandom(12)
        ciphertext = self._keys[self.active].encrypt(nonce, plaintext, context.encode())
        return ":".join((PREFIX, self.active, _b64(nonce), _b64(ciphertext)))

    def open(self, sealed: str, *, context: str) -> bytes:
        try:
            enc, version, kid, nonce, ciphertext = sealed.split(":")
        except ValueError as exc:
            raise DecryptionError("not a sealed value") from exc
        if f"{enc}:{version}" != PREFIX:
            raise DecryptionError("not a sealed value")
        key = self._keys.get(kid)
        if key is None:
            raise DecryptionError(f"unknown data key id {kid!r}")
        try:
            return key.decrypt(base64.b64decode(nonce), base64.b64decode(ciphertext), context.encode())
        except (InvalidTag, binascii.Error, ValueError) as exc:
            raise DecryptionError("sealed value does not open (tampered or wrong context)") from exc

    def seal_json(self, value: Any, *, context: str) -> str:
        return self.seal(json.dumps(value, separators=(",", ":"), default=str).encode(), context=context)

    def open_json(self, sealed: str, *, context: str) -> Any:
        return json.loads(self.open(sealed, context=context))

    @staticmethod
    def key_id_of(sealed: str) -> str:
        return sealed.split(":")[2]


def new_case_key() -> bytes:
    """A fresh AES-256-GCM key for one case."""
    return AESGCM.generate_key(bit_length=256)


def seal_for_case(key: bytes, plaintext: bytes, *, context: str) -> str:
    """``case:v1:<nonce>:<ciphertext>`` with the case's own key; ``context`` bound as associated data.

    Whoever holds the key opens it; once the key is destroyed (erasure), nobody does: every copy of the value, on a
    topic, in a dead letter or in a consumer's store, becomes unreadable at once.
    """
    nonce = os.urandom(12)
    ciphertext = AESGCM(key).encrypt(nonce, plaintext, context.encode())
    return ":".join((CASE_PREFIX, _b64(nonce), _b64(ciphertext)))


def open_for_case(key: bytes, sealed: str, *, context: str) -> bytes:
    try:
        enc, version, nonce, ciphertext = sealed.split(":")
    except ValueError as exc:
        raise DecryptionError("not a case-sealed value") from exc
    if f"{enc}:{version}" != CASE_PREFIX:
        raise DecryptionError("not a case-sealed value")
    try:
        return AESGCM(key).decrypt(base64.b64decode(nonce), base64.b64decode(ciphertext), context.encode())
    except (InvalidTag, binascii.Error, ValueError) as exc:
        raise DecryptionError("case-sealed value does not open (wrong key, tampered or wrong context)") from exc


def parse_keys(raw: str) -> dict[str, bytes]:
    try:
        decoded = json.loads(raw)
        if not isinstance(decoded, dict) or not decoded:
            raise ValueError("expected a non-empty JSON object")
        return {str(kid): base64.b64decode(str(value), validate=True) for kid, value in decoded.items()}
    except (ValueError, binascii.Error) as exc:
        raise ValueError(f"WEERBAAR_DATA_KEYS is not valid: {type(exc).__name__}") from exc


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
