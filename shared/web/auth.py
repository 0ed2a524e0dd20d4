"""Authentication: bearer JWTs verified against the issuer's public key (EdDSA or RS256), a typed ``Principal``.

Production: ``WEERBAAR_JWT_PUBLIC_KEY_FILE`` (PEM) or ``WEERBAAR_JWKS_URL``; issuer, audience, expiry (required) and
a clock skew of 30 s are checked. Dev mode: an Ed25519 key pair generated on first use under ``.cache/dev-jwt/``
(``WEERBAAR_DEV_JWT_DIR``); ``weerbaar token`` signs with its private half, the services verify with the public half.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from fastapi import Depends, Request
from fastapi.security import APIKeyQuery, HTTPBearer

from shared.runtime.settings import CommonSettings
from shared.web.http import Problem

CLOCK_SKEW_S = 30
ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DEV_DIR = ROOT / ".cache" / "dev-jwt"
BREAK_GLASS_HEADER = "X-Break-Glass-Reason"


class Role(StrEnum):
    REPORTER = "reporter"
    OTWB = "otwb"
    POLICE = "police"
    OM = "om"
    JENV = "jenv"
    BZK = "bzk"
    BURGEMEESTER = "burgemeester"
    CCV = "ccv"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who calls: the token's claims, and the break-glass reason an admin gave for this request (if any)."""

    sub: str
    role: Role
    org: str | None = None
    municipality: str | None = None
    break_glass_reason: str | None = None


class Unauthenticated(Exception):
    """No token, or a token that does not verify."""


# --- dev key pair -----------------------------------------------------------------------------------------------


def dev_key_dir(settings: CommonSettings | None = None) -> Path:
    configured = settings.dev_jwt_dir if settings is not None else os.environ.get("WEERBAAR_DEV_JWT_DIR")
    return Path(configured) if configured else DEFAULT_DEV_DIR


def ensure_dev_keys(directory: Path) -> tuple[Path, Path]:
    """The dev Ed25519 key pair (private, public PEM), generated on first use; safe when processes race."""
    private, public = directory / "private.pem", directory / "public.pem"
    if private.exists() and public.exists():
        return private, public
    directory.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    staging = directory / f".new-{uuid.uuid4().hex}"
    staging.mkdir()
    (staging / "private.pem").write_bytes(private_pem)
    (staging / "private.pem").chmod(0o600)
    (staging / "public.pem").write_bytes(public_pem)
    # The private key is the marker: whoever links it first wins, the others adopt that pair.
    try:
        os.link(staging / "private.pem", private)
        os.replace(staging / "public.pem", public)
    except FileExistsError:
        pass
    finally:
        for leftover in staging.iterdir():
            leftover.unlink()
        staging.rmdir()
    if not public.exists():  # the winner has not written its public half yet
        loaded = serialization.load_pem_private_key(private.read_bytes(), password=None)
        assert isinstance(loaded, Ed25519PrivateKey)
        with contextlib.suppress(FileExistsError):
            public.write_bytes(
                loaded.public_key().public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                )
            )
    return private, public


def mint_token(
    *,
    role: Role | str,
    sub: str | None = None,
    org: str | None = None,
    municipality: str | None = None,
    ttl: timedelta = timedelta(hours=8),
    issuer: str = "weerbaar-dev",
    audience: str = "weerbaar",
    directory: Path | None = None,
    now: datetime | None = None,
) -> str:
    """A token signed with the dev private key (dev mode, tests and the CLI only)."""
    private, _ = ensure_dev_keys(directory or dev_key_dir())
    key = serialization.load_pem_private_key(private.read_bytes(), password=None)
    issued = now or datetime.now(UTC)
    role = Role(role)
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "sub": sub or f"{role.value}-{uuid.uuid4().hex[:8]}",
        "role": role.value,
        "iat": issued,
        "nbf": issued,
        "exp": issued + ttl,
        "jti": uuid.uuid4().hex,
    }
    if org:
        claims["org"] = org
    if municipality:
        claims["municipality"] = municipality
    return jwt.encode(claims, key, algorithm="EdDSA")  # type: ignore[arg-type]  # Ed25519 key


# --- verification -----------------------------------------------------------------------------------------------


class TokenVerifier:
    """Verifies bearer tokens; built once per service from its settings."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        public_key: Ed25519PublicKey | RSAPublicKey | None = None,
        jwks_url: str | None = None,
    ) -> None:
        if (public_key is None) == (jwks_url is None):
            raise ValueError("exactly one of a public key or a JWKS URL")
        self._issuer = issuer
        self._audience = audience
        self._key = public_key
        self._jwks = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=300, timeout=5) if jwks_url else None
        if isinstance(public_key, Ed25519PublicKey):
            self._algorithms = ["EdDSA"]
        elif isinstance(public_key, RSAPublicKey):
            self._algorithms = ["RS256"]
        else:
            self._algorithms = ["EdDSA", "RS256"]

    @classmethod
    def from_settings(cls, settings: CommonSettings) -> TokenVerifier:
        if settings.jwks_url:
            return cls(issuer=settings.jwt_issuer, audience=settings.jwt_audience, jwks_url=settings.jwks_url)
        if settings.jwt_public_key_file:
            path = Path(settings.jwt_public_key_file)
        elif settings.dev_mode:
            _, path = ensure_dev_keys(dev_key_dir(settings))
        else:  # the settings validator refuses this already; keep the guard where the key is used
            raise RuntimeError("no JWT verification key configured outside dev mode")
        try:
            key = serialization.load_pem_public_key(path.read_bytes())
        except (OSError, ValueError) as exc:
            raise RuntimeError(f"cannot load the JWT public key from {path}: {type(exc).__name__}") from exc
        if not isinstance(key, Ed25519PublicKey | RSAPublicKey):
            raise RuntimeError(f"the JWT public key in {path} is neither Ed25519 nor RSA")
        return cls(issuer=settings.jwt_issuer, audience=settings.jwt_audience, public_key=key)

    async def verify_async(self, token: str) -> Principal:
        """:meth:`verify` for the event loop: a JWKS look-up (an HTTP fetch when the cache is cold or the key is new)
        runs in a worker thread, so a slow issuer delays this request only, never the others."""
        if self._jwks is None:
            return self.verify(token)
        try:
            key = (await asyncio.to_thread(self._jwks.get_signing_key_from_jwt, token)).key
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"invalid token: {type(exc).__name__}") from exc
        return self._decode(token, key)

    def verify(self, token: str) -> Principal:
        key: Any = self._key
        if self._jwks is not None:
            try:
                key = self._jwks.get_signing_key_from_jwt(token).key
            except jwt.PyJWTError as exc:
                raise Unauthenticated(f"invalid token: {type(exc).__name__}") from exc
        return self._decode(token, key)

    def _decode(self, token: str, key: Any) -> Principal:
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=self._algorithms,
                audience=self._audience,
                issuer=self._issuer,
                leeway=CLOCK_SKEW_S,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"invalid token: {type(exc).__name__}") from exc
        try:
            role = Role(str(claims.get("role")))
        except ValueError as exc:
            raise Unauthenticated("invalid token: unknown role") from exc
        org, municipality = claims.get("org"), claims.get("municipality")
        if not isinstance(claims["sub"], str) or not all(v is None or isinstance(v, str) for v in (org, municipality)):
            raise Unauthenticated("invalid token: malformed claims")
        return Principal(sub=claims["sub"], role=role, org=org, municipality=municipality)


def unauthenticated(detail: str) -> Problem:
    """401 problem+json with the ``WWW-Authenticate`` challenge every 401 carries (RFC 9110 §15.5.2)."""
    return Problem(
        401,
        "Unauthenticated",
        detail,
        code="unauthenticated",
        headers={"WWW-Authenticate": 'Bearer realm="weerbaar"'},
    )


def forbidden(detail: str = "your role may not do this") -> Problem:
    return Problem(403, "Forbidden", detail, code="forbidden")


# For the OpenAPI documents only (``auto_error=False``: they check nothing); ``_principal`` reads and verifies.
BEARER = HTTPBearer(
    bearerFormat="JWT",
    scheme_name="bearer",
    description="A JWT of the issuer (EdDSA or RS256; iss, aud, exp, sub, role; org and municipality where they "
    "apply). Each operation's requirement lists the roles that may call it; `weerbaar token` mints one for the "
    "local stack.",
    auto_error=False,
)
PAGE_TOKEN = APIKeyQuery(
    name="access_token",
    scheme_name="access_token",
    description="The same JWT in the address of a page a browser opens (RFC 6750 §2.3; pages only, never an API)",
    auto_error=False,
)


async def current_principal(request: Request, _: Annotated[object, Depends(BEARER)] = None) -> Principal:
    """FastAPI dependency: the caller verified from the ``Authorization`` header, or 401 problem+json."""
    return await _principal(request, query_token=False)


async def page_principal(
    request: Request,
    _: Annotated[object, Depends(BEARER)] = None,
    __: Annotated[object, Depends(PAGE_TOKEN)] = None,
) -> Principal:
    """For pages opened in a browser (the dashboard) only: the header, or ``?access_token=`` on a GET (RFC 6750
    §2.3). Pages send ``Referrer-Policy: no-referrer`` and ``Cache-Control: no-store``, and no access log is written,
    so the token in the address goes nowhere else; APIs never accept it."""
    return await _principal(request, query_token=True)


async def _principal(request: Request, *, query_token: bool) -> Principal:
    verifier: TokenVerifier | None = getattr(request.app.state, "verifier", None)
    if verifier is None:
        raise unauthenticated("this service has no token verifier")
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if query_token and not header and request.method == "GET" and "access_token" in request.query_params:
        scheme, token = "bearer", request.query_params["access_token"]
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthenticated("a bearer token is required")
    try:
        principal = await verifier.verify_async(token.strip())
    except Unauthenticated as exc:
        raise unauthenticated(str(exc)) from exc
    reason = request.headers.get(BREAK_GLASS_HEADER, "").strip()
    if reason and principal.role is Role.ADMIN:
        return Principal(
            sub=principal.sub,
            role=principal.role,
            org=principal.org,
            municipality=principal.municipality,
            break_glass_reason=reason[:500],
        )
    return principal


Authenticated = Annotated[Principal, Depends(current_principal)]
AuthenticatedPage = Annotated[Principal, Depends(page_principal)]
