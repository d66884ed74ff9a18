"""The OpenAPI document as the API really answers, so that a generated client handles it.

Every error is `ErrorOut` ({"detail": "<words>", "code", "errors"?}), never FastAPI's
default `detail: array`. Statuses come from two places:
- `errors(...)` in a route's `responses=`, for what that route itself decides (a 409 for a
  limit, a 415 for a file type, a 429 for sign-in attempts, a 503 for a missing secret);
- `describe_errors()`, once for the whole document, for what follows from a route's shape:
  401 where it takes a bearer token, 404 where its path names an object, 400 (unreadable)
  and 413 (too large) where it takes a body, and FastAPI's own 422 is replaced by the real one.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from botcraft.errors import ErrorOut

ERROR_DESCRIPTIONS = {
    400: "The request cannot be read: a body that is not JSON, or is nested too deeply, or a broken upload.",
    401: "Not signed in, the session has ended, or the sign-in was refused.",
    403: "Refused: the webhook's signature or verify token does not match.",
    404: "Nothing of yours has this id (another user's objects are not found either).",
    409: "In conflict with what is stored: a limit is reached, or it already exists.",
    413: "The body or the file is larger than this server allows.",
    415: "The file is not of a supported type.",
    422: "A value is missing or wrong; `errors` names each field with its problem.",
    429: "Too many attempts; `Retry-After` says in how many seconds to try again.",
    503: "The server lacks a setting or service this needs.",
}

_HEADERS = {
    401: {"WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}},
    429: {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}},
}

_ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries for error statuses a route decides itself."""
    return {status: _error_response(status) for status in statuses}


def _error_response(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {"model": ErrorOut, "description": ERROR_DESCRIPTIONS[status]}
    if status in _HEADERS:
        response["headers"] = _HEADERS[status]
    return response


def _document_response(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {"description": ERROR_DESCRIPTIONS[status],
                                "content": {"application/json": {"schema": _ERROR_REF}}}
    if status in _HEADERS:
        response["headers"] = _HEADERS[status]
    return response


def _mentions_error(response: dict[str, Any]) -> bool:
    return any(media.get("schema") == _ERROR_REF for media in response.get("content", {}).values())


def describe_errors(document: dict[str, Any]) -> dict[str, Any]:
    """Add the statuses that follow from each operation's shape, with the real error body."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}").pop(
            "$defs", {}).items():
        schemas.setdefault(name, schema)
    schemas.setdefault("ErrorOut", ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}"))
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            params = operation.get("parameters", [])
            implied = set()
            if operation.get("security"):
                implied.add(401)
            if any(p["in"] == "path" for p in params):
                implied.add(404)
            if "requestBody" in operation:
                implied |= {400, 413}
            for status in sorted(implied):
                responses.setdefault(str(status), _document_response(status))
            for status, response in responses.items():
                # FastAPI's own 422 has its `detail: array`; and an error answer is JSON even
                # where the route's success is text (FastAPI gives it the route's media type).
                if status == "422" or (status >= "400" and _mentions_error(response)):
                    responses[status] = {**response, **_document_response(int(status))}
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return document


def webhook_body(header: str) -> dict[str, Any]:
    """`openapi_extra` for a webhook that reads its raw body itself: any JSON object, signed."""
    return {
        "parameters": [{"name": header, "in": "header", "required": False, "schema": {"type": "string"}}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
    }


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = describe_errors(get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
