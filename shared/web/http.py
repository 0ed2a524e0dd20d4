"""HTTP conventions: RFC 9457 problem+json for every error, with the fields at fault for 422."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pymongo.errors import PyMongoError
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.runtime.errors import TransientError

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


PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Problem",
    "description": "RFC 9457 problem details, as every error is answered (application/problem+json)",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "description": "always about:blank: `code` names the kind"},
        "title": {"type": "string"},
        "status": {"type": "integer", "description": "the HTTP status again"},
        "detail": {"type": "string"},
        "code": {"type": "string", "description": "the kind of error, e.g. unauthenticated, forbidden, case_not_found"},
        "errors": {
            "type": "array",
            "description": "422: each field at fault (`office_holder.name`, `query.page`, `group_by`, ...)",
            "items": {
                "type": "object",
                "required": ["field"],
                "properties": {
                    "field": {"type": "string"},
                    "message": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
    },
}
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_RETRY_AFTER = {"description": "seconds to wait before trying again", "schema": {"type": "integer", "minimum": 1}}
_PROBLEMS: dict[int, tuple[str, dict[str, Any]]] = {
    400: ("A body that cannot be read (not UTF-8)", {}),
    401: (
        "No bearer token, or one that does not verify",
        {"WWW-Authenticate": {"required": True, "schema": {"type": "string"}}},
    ),
    403: ("The role may not do this, or not on this case or notification", {}),
    404: ("Not found", {}),
    409: ("The state does not allow it", {}),
    413: ("Body over the size limit (WEERBAAR_MAX_BODY_BYTES)", {}),
    422: ("Invalid request: each field at fault in `errors`", {}),
    429: ("Too many requests", {"Retry-After": {"required": True, **_RETRY_AFTER}}),
    503: ("The store or the broker did not answer in time", {"Retry-After": {"required": True, **_RETRY_AFTER}}),
}


def documented_problem(status: int, description: str | None = None) -> dict[str, Any]:
    """One OpenAPI response object: an error as it is sent (problem+json, with the headers that come with it)."""
    text, headers = _PROBLEMS.get(status, ("Error", {}))
    response: dict[str, Any] = {"description": description or text, "content": {PROBLEM: {"schema": PROBLEM_REF}}}
    if headers:
        response["headers"] = headers
    return response


def problem_responses(*statuses: int, **descriptions: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` of a route for the errors only it answers (404, 409, 429); ``shared.web.openapi`` adds
    those every route of its kind answers (401, 403, 413, 422, 503). ``descriptions``: ``e404="No such case"``."""
    return {status: documented_problem(status, descriptions.get(f"e{status}")) for status in statuses}
