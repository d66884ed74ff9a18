"""Webhooks (answer fast, work later), channel status and control, set-up information."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select

from botcraft.agents.service import get_owned, list_for
from botcraft.auth.deps import CurrentUser
from botcraft.channels.inbound import store_events
from botcraft.channels.manager import ChannelManager
from botcraft.channels.routes import by_secret_hash
from botcraft.channels.telegram.channel import WEBHOOK_PATH, secret_hash
from botcraft.channels.telegram.parse import MissingUpdateIdError
from botcraft.channels.telegram.platform_bot import platform_secret
from botcraft.db import DatabaseDep, RowId, SessionDep
from botcraft.errors import AppError, NotFound, Unauthorized
from botcraft.i18n import N_
from botcraft.inputs import Input
from botcraft.jsonbody import load_json_body
from botcraft.models import Agent
from botcraft.openapi import errors, webhook_body

router = APIRouter(tags=["channels"])


def manager_from(request: Request) -> ChannelManager:
    manager: ChannelManager = request.app.state.runtime.channels
    return manager




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
    route = await by_secret_hash.lookup(db, "telegram", secret_hash(secret))
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
    await store_events(runtime, agent_id, "telegram", events, raw=payload, answer=enabled)
    return JSONResponse({"ok": True})


class ChannelSelector(Input):
    agent_id: RowId | None = None
    channel: str | None = None


async def _agents_for(session: Any, user: Any, agent_id: int | None) -> list[Agent]:
    if agent_id is not None:
        return [await get_owned(session, user, agent_id)]
    if user.is_admin:
        return list(await session.scalars(select(Agent).order_by(Agent.id)))
    return await list_for(session, user)


@router.get("/channels/status", responses=errors(404))
async def channels_status(request: Request, user: CurrentUser, db: SessionDep,
                          agent_id: RowId | None = None) -> dict[str, list[dict[str, Any]]]:
    """Per agent and channel: mode, running, last event, last error (an admin sees every agent)."""
    agents = await _agents_for(db, user, agent_id)
    return {"channels": await manager_from(request).status(db, agents)}


async def _switch(request: Request, user: Any, db: Any, selector: ChannelSelector, enabled: bool
                  ) -> dict[str, list[dict[str, Any]]]:
    manager = manager_from(request)
    if selector.channel is not None and selector.channel not in manager.channels:
        raise NotFound(f"Unknown channel {selector.channel!r}.", code="unknown_channel")
    agents = await _agents_for(db, user, selector.agent_id)
    await manager.set_enabled(db, [a.id for a in agents], selector.channel, enabled)
    await db.flush()
    return {"channels": await manager.status(db, agents)}


@router.post("/channels/start", responses=errors(404))
async def channels_start(request: Request, user: CurrentUser, db: SessionDep,
                         selector: Annotated[ChannelSelector, Body()] = ChannelSelector()) -> dict[str, Any]:
    return await _switch(request, user, db, selector, True)


@router.post("/channels/stop", responses=errors(404))
async def channels_stop(request: Request, user: CurrentUser, db: SessionDep,
                        selector: Annotated[ChannelSelector, Body()] = ChannelSelector()) -> dict[str, Any]:
    return await _switch(request, user, db, selector, False)


@router.get("/api/agents/{agent_id}/channels/setup")
async def channel_setup(agent_id: RowId, request: Request, user: CurrentUser, db: SessionDep) -> dict[str, Any]:
    """What to paste into Meta's dashboard (and where Telegram delivers in webhook mode)."""
    await get_owned(db, user, agent_id)
    settings = request.app.state.settings
    base = settings.public_base_url or None

    def url(path: str) -> str | None:
        return base + path if base else None

    return {
        "telegram": {"webhook_url": url(WEBHOOK_PATH)},
        "whatsapp": {"webhook_url": url("/webhook/whatsapp"), "verify_token": settings.whatsapp_verify_token or None},
        "instagram": {"webhook_url": url("/webhook/instagram"),
                      "verify_token": settings.instagram_verify_token or None},
    }
