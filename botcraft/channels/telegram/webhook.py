"""`POST /webhook/telegram`: every agent's bot (and the platform's own), routed by its secret."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from botcraft.channels.inbound import EventBatch, store_events
from botcraft.channels.telegram.channel import WEBHOOK_PATH, secret_hash
from botcraft.channels.telegram.parse import MissingUpdateIdError
from botcraft.channels.telegram.platform_bot import platform_secret
from botcraft.db import DatabaseDep
from botcraft.errors import AppError, Unauthorized
from botcraft.i18n import N_
from botcraft.jsonbody import load_json_body
from botcraft.openapi import errors, webhook_body

router = APIRouter(tags=["channels"])


@router.get(WEBHOOK_PATH, include_in_schema=False)
async def telegram_webhook_health() -> dict[str, bool]:
    return {"ok": True}


@router.post(WEBHOOK_PATH, responses=errors(400, 401),
             openapi_extra=webhook_body("X-Telegram-Bot-Api-Secret-Token"))
async def telegram_webhook(request: Request, db: DatabaseDep) -> JSONResponse:
    """Telegram updates for every agent's bot, routed by X-Telegram-Bot-Api-Secret-Token."""
    secret = request.headers.get("x-telegram-bot-api-secret-token")
    if not secret:
        raise Unauthorized("Missing X-Telegram-Bot-Api-Secret-Token.", code="missing_secret")
    runtime = request.app.state.runtime
    platform = runtime.platform_bot
    if platform is not None and hmac.compare_digest(secret, platform_secret(request.app.state.settings)):
        payload = load_json_body(await request.body())
        await platform.handle(payload if isinstance(payload, dict) else {})
        return JSONResponse({"ok": True})
    route = await runtime.channels.routes.by_secret_hash.lookup(db, "telegram", secret_hash(secret))
    if route is None:
        raise Unauthorized("Unknown webhook secret.", code="unknown_secret")
    agent_id, enabled = route
    payload = load_json_body(await request.body())
    if not isinstance(payload, dict):
        raise AppError("An update must be a JSON object.", code="invalid_update")
    try:
        events = runtime.channels.get("telegram").parse(payload)
    except MissingUpdateIdError as exc:
        # Telegram itself never sends this; whoever did gets told what is wrong, not a 500.
        raise AppError(N_("Not a Telegram update: {reason}.").format(reason=exc), code="invalid_update") from exc
    await store_events(runtime, [EventBatch(agent_id, "telegram", events, raw=payload, answer=enabled)])
    return JSONResponse({"ok": True})
