"""``weerbaar keys``: create, rotate and apply the keys that protect personal data (docs/security.md)."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from shared.runtime.settings import CommonSettings
from shared.security.crypto import DataCipher, parse_keys
from shared.security.keys import KEYS_FILE, dev_keys_dir, ensure_dev_keys, fresh_key_set, new_data_key, new_data_key_id
from shared.security.reseal import Resealed, SealedField, reseal
from shared.store import mongo

keys_app = typer.Typer(
    help="Create and rotate keys; re-seal stored data with the active data key", no_args_is_help=True
)
err = Console(stderr=True)


def _env_lines(values: dict[str, str]) -> str:
    return "".join(f"{name}={shlex.quote(value)}\n" for name, value in values.items())


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)


def _read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#") and "=" in line:
            name, _, value = line.partition("=")
            parsed = shlex.split(value)
            values[name.strip()] = parsed[0] if parsed else ""
    return values


@keys_app.command("create")
def create(
    out: Annotated[Path | None, typer.Option("--out", help="Write an env file (mode 0600) instead of printing")] = None,
) -> None:
    """A fresh set of every key (data, pseudonym, webhook, audit) as WEERBAAR_* lines for the secret store."""
    text = _env_lines(fresh_key_set())
    if out is None:
        typer.echo(text, nl=False)
        return
    if out.exists():
        err.print(f"[red]{out} exists; rotate with `weerbaar keys rotate --env-file {out}`[/red]")
        raise typer.Exit(2)
    _write_private(out, text)
    err.print(f"keys written to {out}")


@keys_app.command("rotate")
def rotate(
    env_file: Annotated[
        Path | None,
        typer.Option("--env-file", help="Env file to update (default: the environment; in dev mode the dev keys)"),
    ] = None,
) -> None:
    """Add a new data key and make it the active one; the old keys stay so existing data still opens.

    Then restart the services (new data is sealed with the new key), run `weerbaar keys reseal`, and remove an old
    key only when reseal reports nothing remaining.
    """
    dev_file: Path | None = None
    if env_file is not None:
        current = _read_env_file(env_file)
    else:
        settings = CommonSettings()
        if settings.dev_mode and not os.environ.get("WEERBAAR_DATA_KEYS"):
            dev_file = dev_keys_dir(settings.dev_keys_dir) / KEYS_FILE
            current = ensure_dev_keys(dev_file.parent)
        else:
            assert settings.data_keys is not None
            current = {"WEERBAAR_DATA_KEYS": settings.data_keys.get_secret_value()}
    keys = dict(json.loads(current.get("WEERBAAR_DATA_KEYS", "{}")))
    parse_keys(json.dumps(keys or {"check": new_data_key()}))  # refuse a malformed key set before adding to it
    kid = new_data_key_id()
    keys[kid] = new_data_key()
    rotated = {"WEERBAAR_DATA_KEYS": json.dumps(keys), "WEERBAAR_DATA_KEY_ID": kid}
    if env_file is not None or dev_file is not None:
        target = env_file or dev_file
        assert target is not None
        updated = {**current, **rotated}
        _write_private(target, json.dumps(updated, indent=2) if dev_file else _env_lines(updated))
        err.print(
            f"data key {kid} added to {target} and made active; restart the services, then `weerbaar keys reseal`"
        )
        return
    typer.echo(_env_lines(rotated), nl=False)


def sealed_fields() -> tuple[SealedField, ...]:
    """Every place a service keeps sealed values."""
    from services.intake.codec import SEALED_FIELDS as INTAKE
    from services.notify.store import SEALED_FIELDS as NOTIFY
    from shared.security.case_keys import SEALED_FIELDS as CASE_KEYS

    return (*INTAKE, *NOTIFY, *CASE_KEYS)


async def _reseal(settings: CommonSettings) -> Resealed:
    client = mongo.make_client(settings.mongodb_uri, app_name="weerbaar-keys")
    try:
        return await reseal(client[settings.mongodb_db], DataCipher.from_settings(settings), sealed_fields())
    finally:
        await client.close()


@keys_app.command("reseal")
def reseal_command() -> None:
    """Seal every stored personal field that an older data key sealed with the active one (WEERBAAR_DATA_KEY_ID)."""
    settings = CommonSettings()
    result = asyncio.run(_reseal(settings))
    where = ", ".join(f"{name} {n}" for name, n in sorted(result.by_collection.items())) or "nothing to do"
    typer.echo(
        f"resealed {result.resealed} value(s) with key {settings.data_key_id} ({where}); {result.remaining} remaining"
    )
    if result.remaining:
        err.print("[yellow]some documents changed while being re-sealed: run reseal again[/yellow]")
        raise typer.Exit(1)


@keys_app.command("dev")
def dev() -> None:
    """Make sure this checkout's development keys exist (.cache/dev-keys) and say where they are."""
    directory = dev_keys_dir()
    ensure_dev_keys(directory)
    typer.echo(str(directory / KEYS_FILE))
