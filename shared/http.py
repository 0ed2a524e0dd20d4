"""HTTP conventions: RFC 9457 problem+json for every error, with the fields at fault for 422."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pymongo.errors import PyMongoError
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.errors import TransientError

PROBLEM = "application/problem+json"


class Problem(Exception):
    """An error a route raises to answer with problem+json."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str = "",
        *,
        code: str = "",
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.headers = headers or {}
        self.title = title
        self.detail = detail
        self.code = code
        self.extra = extra


def problem_response(
    status: int, title: str, detail: str = "", *, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header"}:
        parts = parts[1:] if parts[0] == "body" else parts
    return ".".join(parts) or "(body)"


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error answer as problem+json."""

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": _field(err.get("loc", ())), "message": err.get("msg", ""), "type": err.get("type", "")}
            for err in exc.errors()
        ]
        return problem_response(422, "Invalid request", f"{len(errors)} field(s) failed validation", errors=errors)

    @app.exception_handler(Problem)
    async def _problem(_: Request, exc: Problem) -> JSONResponse:
        extra = dict(exc.extra)
        if exc.code:
            extra["code"] = exc.code
        return problem_response(exc.status, exc.title, exc.detail, headers=exc.headers, **extra)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem_response(exc.status_code, str(exc.detail), headers=dict(exc.headers or {}))

    @app.exception_handler(PyMongoError)
    @app.exception_handler(TransientError)
    async def _unavailable(_: Request, exc: Exception) -> JSONResponse:
        # The store (or broker) did not answer in time; a retry with the same Idempotency-Key is safe.
        return problem_response(
            503,
            "Service unavailable",
            "the case store did not answer in time; retry with the same Idempotency-Key",
            code="store_unavailable",
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        # No stack trace or exception text leaves the service; the log has the type only.
        return problem_response(500, "Internal error", "the request could not be completed", code="internal_error")


_PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}, "type": {"type": "string"}},
            },
        },
    },
}
_PROBLEM_TEXT = {
    400: "Bad request",
    401: "No token, or a token that does not verify",
    403: "The role or the case does not allow it",
    404: "No such case",
    409: "The case's state does not allow it",
    413: "Body over the size limit",
    422: "Invalid request: the fields at fault in `errors`",
    429: "Too many requests (see Retry-After)",
    503: "The store or the broker did not answer in time (see Retry-After)",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for errors answered as problem+json (RFC 9457), as they are sent."""
    return {
        status: {"description": _PROBLEM_TEXT.get(status, "Error"), "content": {PROBLEM: {"schema": _PROBLEM_SCHEMA}}}
        for status in statuses
    }
