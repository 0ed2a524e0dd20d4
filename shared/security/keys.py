"""Key material: fresh keys for an install, and the development keys generated once per checkout.

No key is spelled in the code. ``weerbaar keys create`` prints a fresh set for an operator's secret store; dev mode
(``WEERBAAR_DEV_MODE=true``) reads ``.cache/dev-keys/keys.json`` (git-ignored; ``WEERBAAR_DEV_KEYS_DIR``), written
on first use with random keys, so every checkout has keys of its own and the services, tests and CLI of one checkout
share them.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DEV_KEYS_DIR = ROOT / ".cache" / "dev-keys"
KEYS_FILE = "keys.json"


def new_data_key_id(now: datetime | None = None) -> str:
    """A data key id that sorts by creation: ``k<UTC timestamp>-<random>`` (no ``:``, which the sealed form uses)."""
    return f"k{(now or datetime.now(UTC)).strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(2)}"


def new_data_key() -> str:
    """Base64 of 32 random bytes: one AES-256-GCM key."""
    return base64.b64encode(secrets.token_bytes(32)).decode()


def new_secret() -> str:
    """A random HMAC key (pseudonyms, webhook signatures, the audit chain), 32 bytes as URL-safe text."""
    return secrets.token_urlsafe(32)


def fresh_key_set() -> dict[str, str]:
    """Every secret a deployment needs, as ``WEERBAAR_*`` environment values."""
    kid = new_data_key_id()
    return {
        "WEERBAAR_DATA_KEYS": json.dumps({kid: new_data_key()}),
        "WEERBAAR_DATA_KEY_ID": kid,
        "WEERBAAR_PSEUDONYM_KEY": new_secret(),
        "WEERBAAR_WEBHOOK_SECRET": new_secret(),
        "WEERBAAR_AUDIT_KEY": new_secret(),
    }


def dev_keys_dir(configured: str | None = None) -> Path:
    configured = configured or os.environ.get("WEERBAAR_DEV_KEYS_DIR")
    return Path(configured) if configured else DEFAULT_DEV_KEYS_DIR


def ensure_dev_keys(directory: Path) -> dict[str, str]:
    """This checkout's development key set, generated on first use; safe when processes race (the first wins)."""
    path = directory / KEYS_FILE
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        staging = directory / f".new-{uuid.uuid4().hex}"
        staging.write_text(json.dumps(fresh_key_set(), indent=2))
        staging.chmod(0o600)
        try:
            with contextlib.suppress(FileExistsError):
                os.link(staging, path)
        finally:
            staging.unlink()
    loaded = json.loads(path.read_text())
    if not isinstance(loaded, dict):
        raise RuntimeError(f"{path} is not a key set; delete it to generate a new one")
    missing = set(fresh_key_set()) - set(loaded)
    if missing:  # a key added since the file was written: add it, keep the others
        loaded.update({name: value for name, value in fresh_key_set().items() if name in missing})
        staging = directory / f".new-{uuid.uuid4().hex}"
        staging.write_text(json.dumps(loaded, indent=2))
        staging.chmod(0o600)
        os.replace(staging, path)
        loaded = json.loads(path.read_text())  # a process that raced us may have written its own: adopt that
    return {str(k): str(v) for k, v in loaded.items()}
