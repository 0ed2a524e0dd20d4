"""Request body size limit on every service: 413 problem+json before the body is read, before authentication.

The outermost middleware (``Runtime.build_app``): a declared ``Content-Length`` over the limit is answered at once,
without reading a byte of the body; a body without one (chunked) is counted while it streams in and refused as soon
as it passes the limit. Nothing further is read either way (uvicorn then closes the connection).
"""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.web.http import PROBLEM


class BodySizeLimit:
    """ASGI middleware: reject bodies over ``max_bytes`` (by Content-Length, or while streaming)."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(send)
            return
        seen = 0
        started = False

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    # An HTTPException: FastAPI passes it on while reading a body (other errors become 400), and the
                    # problem handlers answer it; should it reach this middleware, it answers here.
                    raise TooLarge(self.max_bytes)
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited, tracked)
        except TooLarge:
            if not started:
                await self._reject(send)

    async def _reject(self, send: Send) -> None:
        body = json.dumps(
            {
                "type": "about:blank",
                "title": "Request body too large",
                "status": 413,
                "detail": f"the limit is {self.max_bytes} bytes",
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", PROBLEM.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class TooLarge(HTTPException):
    def __init__(self, max_bytes: int) -> None:
        # Connection: close, so the server stops reading there instead of draining the rest of the body.
        super().__init__(413, "Request body too large", headers={"Connection": "close"})
        self.max_bytes = max_bytes
