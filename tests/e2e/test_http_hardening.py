"""HTTP hardening on the running services: bodies refused before they are read, security headers everywhere."""

from __future__ import annotations

import socket
import threading
import time
from urllib.parse import urlsplit

import httpx
import pytest

from tests.support.auth import headers, token
from tests.support.services import SERVICES, RunningServices

pytestmark = pytest.mark.e2e

TWENTY_MB = 20 * 1024 * 1024
CHUNK = 64 * 1024


def _connect(services: RunningServices, service: str) -> socket.socket:
    url = urlsplit(services.url(service))
    sock = socket.create_connection((url.hostname, url.port), timeout=10)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, CHUNK)  # the kernel may not buffer much of the body for us
    return sock


def _response(sock: socket.socket) -> tuple[int, bytes]:
    """Status and body of the one response on the connection (read until its Content-Length, or the close)."""
    received = b""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        head, found, rest = received.partition(b"\r\n\r\n")
        if found:
            lengths = [
                line.split(b":", 1)[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
            ]
            length = int(lengths[0]) if lengths else None
            if length is not None and len(rest) >= length:
                return int(head.split(b" ", 2)[1]), rest[:length]
        try:
            part = sock.recv(65536)
        except ConnectionResetError:
            break
        if not part:
            break
        received += part
    head, _, rest = received.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), rest


@pytest.mark.parametrize("service", SERVICES)
def test_a_declared_20_mb_unauthenticated_body_is_refused_with_413_before_a_byte_of_it_is_sent(
    services: RunningServices, service: str
) -> None:
    """The client sends only the headers and waits: the answer comes without the server waiting for the body."""
    with _connect(services, service) as sock:
        sock.sendall(
            b"POST /v1/incidents HTTP/1.1\r\nHost: weerbaar\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {TWENTY_MB}\r\n\r\n".encode()
        )
        status, body = _response(sock)
    assert status == 413
    assert b"Request body too large" in body


@pytest.mark.parametrize(("service", "path"), [("intake", "/v1/incidents"), ("notify", "/v1/notifications/n-1/ack")])
def test_a_streamed_20_mb_unauthenticated_body_is_refused_with_413_long_before_it_is_all_sent(
    services: RunningServices, service: str, path: str
) -> None:
    """Chunked, no length, to a route that reads bodies: the client sees 413 while it is still sending."""
    answered: list[tuple[int, bytes]] = []
    sent = 0
    with _connect(services, service) as sock:
        reader = threading.Thread(target=lambda: answered.append(_response(sock)), daemon=True)
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: weerbaar\r\nContent-Type: application/json\r\n".encode()
            + b"Transfer-Encoding: chunked\r\n\r\n"
        )
        reader.start()
        chunk = f"{CHUNK:x}\r\n".encode() + b"x" * CHUNK + b"\r\n"
        try:
            while sent < TWENTY_MB and not answered:
                sock.sendall(chunk)
                sent += CHUNK
        except OSError:
            pass  # the server closed the connection: it stopped reading
        reader.join(15)
    assert answered, "no answer"
    status, body = answered[0]
    assert status == 413
    assert b"Request body too large" in body
    assert sent < TWENTY_MB // 4, f"the client could send {sent} bytes: the server kept reading"


def test_every_response_carries_hsts_and_the_other_security_headers(services: RunningServices) -> None:
    for service in SERVICES:
        for path in ("/healthz", "/readyz", "/v1/nothing-here", "/openapi.json"):
            response = httpx.get(services.url(service) + path, timeout=5)
            assert response.headers["strict-transport-security"].startswith("max-age=31536000"), (service, path)
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["x-frame-options"] == "DENY"
            assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
            assert response.headers["cross-origin-opener-policy"] == "same-origin"


def test_a_token_in_the_query_string_opens_the_dashboard_only(services: RunningServices) -> None:
    bzk = token("bzk")
    assert httpx.get(services.url("reporting") + f"/dashboard?access_token={bzk}", timeout=15).status_code == 200
    for service, path in (("reporting", "/v1/reports/summary"), ("intake", "/v1/cases/c-1")):
        refused = httpx.get(services.url(service) + f"{path}?access_token={token('admin')}", timeout=5)
        assert refused.status_code == 401, (service, path)
    with_header = httpx.get(services.url("reporting") + "/dashboard", headers=headers("bzk"), timeout=15)
    assert with_header.status_code == 200
    assert with_header.headers["cache-control"] == "no-store"
