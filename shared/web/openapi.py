"""Each service's OpenAPI document as the service answers: one place adds what every route of a kind can answer.

FastAPI documents what a route returns and its own 422 (as ``application/json``); the services answer every error as
``application/problem+json`` (``shared.web.http``), and some errors come from outside the route: the token check (401,
403), the body size limit (413), a body that cannot be read (400), request validation (422), an unknown id in the
path (404), a store that does not answer (503). :func:`describe` completes each operation from what it is (secured,
has parameters, has a body), so a new route is documented right without repeating the list; a route declares only
the errors only it answers (``shared.http.problem_responses``: 409, 429). The security schemes come from the
dependencies that check the token (``shared.web.auth``); each operation's requirement lists the roles that may call it.
"""

from __future__ import annotations

import http
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from shared.web.http import PROBLEM_SCHEMA, documented_problem

_FASTAPI_422 = {"$ref": "#/components/schemas/HTTPValidationError"}
_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def describe(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """``app.openapi`` for ``app``: FastAPI's document, completed by :func:`complete` (built once, then cached)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                openapi_version=app.openapi_version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = complete(document)
        return app.openapi_schema

    return openapi


def complete(document: dict[str, Any]) -> dict[str, Any]:
    """Add to every operation the errors it can answer, each as problem+json; drop FastAPI's JSON 422 schemas."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    for item in document.get("paths", {}).values():
        for method, operation in item.items():
            if method in _METHODS:
                _complete_operation(operation)
    if "HTTPValidationError" not in str(document.get("paths")):
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
    return document


def _complete_operation(operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    parameters = operation.get("parameters", [])
    implied: set[int] = set()
    if operation.get("security"):
        implied |= {401, 403, 503}  # the token check; every secured route reads the store
    if parameters or "requestBody" in operation:
        implied.add(422)
    if "requestBody" in operation:
        implied.add(413)
        if "application/json" in operation["requestBody"].get("content", {}):
            implied.add(400)  # JSON that is not UTF-8 (FastAPI parses it; the desk's forms are read leniently)
    if any(p.get("in") == "path" for p in parameters):
        implied.add(404)
    for status in implied:
        responses.setdefault(str(status), {})
    for code, response in list(responses.items()):
        if not (code.isdigit() and int(code) >= 400) or _declares_content(response):
            continue
        described = response.get("description")
        generic = described in (None, "", "Validation Error", _phrase(int(code)))
        responses[code] = documented_problem(int(code), None if generic else described)


def _declares_content(response: dict[str, Any]) -> bool:
    """A route's own content for an error (``/readyz``'s 503); FastAPI's JSON 422 and an empty one are not."""
    content = response.get("content")
    if not content:
        return False
    return bool(content != {"application/json": {"schema": _FASTAPI_422}})


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""
