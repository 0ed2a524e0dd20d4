"""Tokens in tests: minted with the dev key pair the services under test verify against."""

from __future__ import annotations

import uuid
from collections.abc import Generator
from datetime import timedelta

import httpx

from shared.web.auth import DEFAULT_DEV_DIR, Role, mint_token

KEY_DIR = DEFAULT_DEV_DIR


def token(
    role: Role | str,
    *,
    sub: str | None = None,
    org: str | None = None,
    municipality: str | None = None,
    ttl: timedelta = timedelta(hours=1),
) -> str:
    """A dev token; a fresh subject unless ``sub`` is given (so rate limits of different tests never mix)."""
    return mint_token(
        role=role,
        sub=sub or f"test-{Role(role).value}-{uuid.uuid4().hex[:8]}",
        org=org,
        municipality=municipality,
        ttl=ttl,
        directory=KEY_DIR,
    )


def headers(role: Role | str, **claims: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(role, **claims)}"}  # type: ignore[arg-type]


class BearerAuth(httpx.Auth):
    """httpx auth: every request carries the bearer token (of one caller)."""

    def __init__(self, role: Role | str, **claims: str | None) -> None:
        self.token = token(role, **claims)  # type: ignore[arg-type]

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.token}"
        yield request


class DeskAuth(httpx.Auth):
    """For tests of the case file itself: reports as an OTWB desk, reads every case as admin with break-glass."""

    def __init__(self) -> None:
        self.reporter = token(Role.OTWB, org="OTWB test desk")
        self.admin = token(Role.ADMIN)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if request.method == "GET":
            request.headers["Authorization"] = f"Bearer {self.admin}"
            request.headers.setdefault("X-Break-Glass-Reason", "automated test of the case file")
        else:
            request.headers["Authorization"] = f"Bearer {self.reporter}"
        yield request
