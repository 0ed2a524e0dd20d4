"""Polling the running services with a deadline (never a sleep standing in for readiness)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx


async def until_read(
    client: httpx.AsyncClient, path: str, done: Callable[[Any], bool], *, timeout: float = 60
) -> dict[str, Any]:
    """GET ``path`` until it answers 200 with a body ``done`` accepts; fails with the last answer after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        response = await client.get(path)
        body: dict[str, Any] = response.json()
        if response.status_code == 200 and done(body):
            return body
        assert time.monotonic() < deadline, f"{path}: {response.status_code} {body}"
        await asyncio.sleep(0.2)


async def until(
    what: str, check: Callable[[], Awaitable[bool]], *, within_s: float = 60.0, every_s: float = 0.5
) -> None:
    """Ask ``check`` every ``every_s`` until it says yes; fails naming ``what`` after ``within_s``."""
    deadline = time.monotonic() + within_s
    while not await check():
        assert time.monotonic() < deadline, f"not within {within_s:.0f} s: {what}"
        await asyncio.sleep(every_s)
