"""Every error leaves the API as {"detail": <words>, "code": <stable code>} with its status.

The words are in the request's language (botcraft.i18n): details are written in English
and translated here, on the way out, validation messages included.

`ErrorOut` is that shape for the OpenAPI document (botcraft/openapi.py declares it for every
status a route really answers); `CatchAllMiddleware` turns an unexpected exception into the
same shape, a 500 in words, without dropping the client's keep-alive connection.
"""

from __future__ import annotations

import json
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from botcraft.i18n import N_, translate

log = structlog.get_logger("botcraft.errors")


class AppError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        status_code: int | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code
        if status_code:
            self.status_code = status_code
        self.headers = headers
        self.extra = extra or {}


class NotFound(AppError):
    status_code = 404
    code = "not_found"


class Unauthorized(AppError):
    status_code = 401
    code = "unauthorized"

    def __init__(self, detail: str, *, code: str | None = None) -> None:
        super().__init__(detail, code=code, headers={"WWW-Authenticate": "Bearer"})


class Conflict(AppError):
    status_code = 409
    code = "conflict"


class Unprocessable(AppError):
    status_code = 422
    code = "validation_error"


class TooManyRequests(AppError):
    status_code = 429
    code = "rate_limited"


class FieldError(BaseModel):
    field: str
    message: str


class ErrorOut(BaseModel):
    """The body of every error answer. Some carry more, such as `retry_after` or `limit`."""

    model_config = ConfigDict(extra="allow", json_schema_extra={
        "example": {"detail": "Агент не найден.", "code": "agent_not_found"}})

    detail: str
    code: str
    errors: list[FieldError] | None = None


INTERNAL_ERROR = N_("Something went wrong on our side; please try again.")


def error_body(detail: str, code: str, **extra: Any) -> dict[str, Any]:
    return {"detail": detail, "code": code, **extra}


_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    503: "unavailable",
}


# What a person reads for each kind of invalid value, by pydantic's error type; {names}
# come from the error's context.
_VALIDATION_MESSAGES = {
    "missing": N_("is required"),
    "string_too_short": N_("must be at least {min_length} characters long"),
    "string_too_long": N_("must be at most {max_length} characters long"),
    "too_short": N_("must have at least {min_length} items"),
    "too_long": N_("must have at most {max_length} items"),
    "string_type": N_("must be text"),
    "string_pattern_mismatch": N_("has an invalid format"),
    "int_type": N_("must be a whole number"),
    "int_parsing": N_("must be a whole number"),
    "int_from_float": N_("must be a whole number"),
    "float_type": N_("must be a number"),
    "float_parsing": N_("must be a number"),
    "bool_type": N_("must be true or false"),
    "bool_parsing": N_("must be true or false"),
    "greater_than": N_("must be greater than {gt}"),
    "greater_than_equal": N_("must be at least {ge}"),
    "less_than": N_("must be less than {lt}"),
    "less_than_equal": N_("must be at most {le}"),
    "literal_error": N_("must be one of: {expected}"),
    "enum": N_("must be one of: {expected}"),
    "dict_type": N_("must be an object"),
    "model_type": N_("must be an object"),
    "model_attributes_type": N_("must be an object"),
    "list_type": N_("must be a list"),
    "extra_forbidden": N_("is not an allowed field"),
    "json_invalid": N_("the request body is not valid JSON"),
}


def _validation_message(err: dict[str, Any]) -> str:
    kind, context = err.get("type", ""), err.get("ctx") or {}
    if kind == "value_error" and "error" in context:  # our own validators' words
        return translate(str(context["error"]))
    template = _VALIDATION_MESSAGES.get(kind)
    if template is None:
        return translate(str(err.get("msg", "invalid value")))
    if kind == "string_too_short" and context.get("min_length") == 1:
        return translate(N_("must not be empty"))
    try:
        return translate(template).format(**{k: str(v) for k, v in context.items()})
    except (KeyError, IndexError):
        return translate(template)


def _describe_validation(exc: RequestValidationError) -> tuple[str, list[dict[str, Any]]]:
    errors = []
    parts = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
        field = ".".join(loc) or "body"
        if err.get("type") == "json_invalid":
            field = "body"
        message = _validation_message(err)
        errors.append({"field": field, "message": message})
        parts.append(f"{field}: {message}")
    return "; ".join(parts) or translate(N_("invalid request")), errors


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(_: Request, exc: AppError) -> JSONResponse:
        return JSONResponse(
            error_body(translate(exc.detail), exc.code, **exc.extra),
            status_code=exc.status_code,
            headers=exc.headers,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        detail, errors = _describe_validation(exc)
        return JSONResponse(error_body(detail, "validation_error", errors=errors), 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "error")
        detail = exc.detail if isinstance(exc.detail, str) else code
        if exc.status_code == 404 and detail == "Not Found":
            detail = N_("Nothing here: check the address.")
        elif exc.status_code == 400 and detail == "There was an error parsing the body":  # FastAPI's words
            detail = N_("The request body cannot be read: send JSON in UTF-8.")
        return JSONResponse(
            error_body(translate(detail), code), status_code=exc.status_code, headers=exc.headers
        )



class CatchAllMiddleware:
    """The last word on an unexpected exception: a JSON 500 in words, logged with the request id.

    Starlette's own handler for `Exception` answers and then re-raises, and uvicorn closes
    the connection of any request whose app raised; here the exception ends, so the
    client's keep-alive connection stays open. Added innermost of the middleware, so the
    request id (and the language) of RequestContextMiddleware are bound when this runs.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            log.exception("unhandled_error", error_type=type(exc).__name__, method=scope["method"],
                          path=scope["path"])
            if started:  # half a response is out: only closing the connection can tell the client
                raise
            body = json.dumps(error_body(translate(INTERNAL_ERROR), "internal_error"), ensure_ascii=False).encode()
            await send({"type": "http.response.start", "status": 500, "headers": [
                (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
