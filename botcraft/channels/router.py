"""Channel status and control, set-up information, and an agent's channel settings.

The webhooks are each channel's own routes (BaseChannel.routers), mounted by app.py."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from sqlalchemy import select

from botcraft.agents.schemas import AgentOut
from botcraft.agents.service import get_owned, list_for, to_out
from botcraft.auth.deps import CurrentUser, SettingsDep
from botcraft.channels.base import ChannelSetupError
from botcraft.channels.integrations import IntegrationsUpdate, MissingField, merge
from botcraft.channels.manager import ChannelManager
from botcraft.channels.registry import CHANNELS
from botcraft.db import DatabaseDep, RowId, SessionDep
from botcraft.errors import NotFound, Unprocessable
from botcraft.inputs import Input
from botcraft.models import Agent
from botcraft.openapi import errors

router = APIRouter(tags=["channels"])


def manager_from(request: Request) -> ChannelManager:
    manager: ChannelManager = request.app.state.runtime.channels
    return manager


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


@router.get("/api/agents/{agent_id}/channels/setup", responses=errors(404))
async def channel_setup(agent_id: RowId, request: Request, user: CurrentUser, db: SessionDep) -> dict[str, Any]:
    """What to paste into each platform's dashboard (and where Telegram delivers in webhook mode)."""
    await get_owned(db, user, agent_id)
    settings = request.app.state.settings
    return {name: channel.setup_info(settings) for name, channel in CHANNELS.items()}


@router.put("/api/agents/{agent_id}/integrations", response_model=AgentOut, responses=errors(404, 409),
            tags=["agents"])
async def put_integrations(
    agent_id: RowId, body: IntegrationsUpdate, request: Request, user: CurrentUser, db: DatabaseDep,
    settings: SettingsDep,
) -> AgentOut:
    """Check new channel settings with their platform first; store them only when that worked."""
    manager = manager_from(request)
    async with db.transaction(write=False) as session:
        agent = await get_owned(session, user, agent_id)
    old = dict(agent.integrations_json or {})
    try:
        agent.integrations_json = merge(old, body, settings)
    except MissingField as exc:
        raise Unprocessable(str(exc), extra={"errors": [{"field": exc.field, "message": "required"}]}) from exc
    try:
        plans = await manager.prepare(agent, old, agent.integrations_json)
    except ChannelSetupError as exc:
        problems = [{"field": exc.field, "message": exc.message}] if exc.field else []
        raise Unprocessable(exc.message, code="channel_setup_failed", extra={"errors": problems}) from exc
    async with db.transaction() as session:
        stored = await get_owned(session, user, agent_id, for_update=True)
        stored.integrations_json = agent.integrations_json
        await manager.apply(session, stored, old, plans)
        await session.flush()
        out = to_out(stored, settings.encryption_key, integrations=manager.masked(stored.integrations_json))
    await manager.teardown_removed(agent, old, plans)
    return out
