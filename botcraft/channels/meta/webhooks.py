"""The webhook of a Meta channel (WhatsApp, Instagram): Meta's verification GET, signed POSTs.

Every POST's X-Hub-Signature-256 is checked over the raw body before anything else; a
missing header is 401, a wrong one 403, no app secret configured 503, and nothing is
stored in those cases. Valid posts are stored and answered 200 at once; a payload that
names no connected agent is logged and still answered 200, so Meta does not retry it forever.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from botcraft.channels.events import InboundEvent
from botcraft.channels.inbound import EventBatch, store_events
from botcraft.channels.meta.signature import (
    SIGNATURE_HEADER,
    SignatureResult,
    verify_challenge,
    verify_signature,
)
from botcraft.config import Settings
from botcraft.db import Database, DatabaseDep
from botcraft.errors import AppError
from botcraft.jsonbody import load_json_body
from botcraft.openapi import errors, webhook_body

log = structlog.get_logger("botcraft.meta")

_SIGNATURE_ERRORS = {
    SignatureResult.MISSING: ("The X-Hub-Signature-256 header is missing.", "signature_missing"),
    SignatureResult.INVALID: ("The X-Hub-Signature-256 signature does not match.", "signature_invalid"),
    SignatureResult.NOT_CONFIGURED: ("The app secret for this webhook is not configured on the server.",
                                     "webhook_not_configured"),
}
_WEBHOOK_ERRORS = errors(400, 401, 403, 503)


# (verify token, app secret) of one channel, from the server's settings.
SecretsOf = Callable[[Settings], tuple[str, str]]


def _verify_get(request: Request, secrets_of: SecretsOf) -> PlainTextResponse:
    verify_token, _ = secrets_of(request.app.state.settings)
    challenge = verify_challenge(request.query_params, verify_token or None)
    if challenge is None:
        raise AppError("Verification failed: the verify token does not match.", code="verify_token_mismatch",
                       status_code=403)
    return PlainTextResponse(challenge)


async def _ingest(request: Request, db: Database, channel_name: str, secrets_of: SecretsOf) -> JSONResponse:
    _, app_secret = secrets_of(request.app.state.settings)
    raw = await request.body()
    result = verify_signature(raw, request.headers.get(SIGNATURE_HEADER), app_secret or None)
    if result != SignatureResult.OK:
        detail, code = _SIGNATURE_ERRORS[result]
        raise AppError(detail, code=code, status_code=result.http_status)
    payload = load_json_body(raw)
    runtime = request.app.state.runtime
    events = runtime.channels.get(channel_name).parse(payload if isinstance(payload, dict) else {})
    by_route: dict[str, list[InboundEvent]] = defaultdict(list)
    for event in events:
        by_route[event.route_key or ""].append(event)
    body = payload if isinstance(payload, dict) else None
    batches: list[EventBatch] = []
    for route_key, group in by_route.items():
        route = await runtime.channels.routes.by_route_key.lookup(db, channel_name, route_key) if route_key else None
        if route is None:
            log.warning("webhook_unrouted", channel=channel_name, route_key=route_key, events=len(group))
            continue
        agent_id, enabled = route
        batches.append(EventBatch(agent_id, channel_name, group, raw=body, answer=enabled))
    await store_events(runtime, batches)
    return JSONResponse({"ok": True})


def webhook_router(channel_name: str, secrets_of: SecretsOf) -> APIRouter:
    """Meta's verification GET and the signed POST at /webhook/<channel_name>."""
    router = APIRouter(tags=["channels"])
    path = f"/webhook/{channel_name}"

    @router.get(path, response_class=PlainTextResponse, responses=errors(403), name=f"{channel_name}_verify")
    async def verify(request: Request) -> Any:
        return _verify_get(request, secrets_of)

    @router.post(path, responses=_WEBHOOK_ERRORS, openapi_extra=webhook_body(SIGNATURE_HEADER),
                 name=f"{channel_name}_webhook")
    async def webhook(request: Request, db: DatabaseDep) -> JSONResponse:
        return await _ingest(request, db, channel_name, secrets_of)

    return router
