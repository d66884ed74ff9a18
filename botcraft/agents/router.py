from __future__ import annotations

from fastapi import APIRouter, Request, status

from botcraft.agents import service
from botcraft.agents.integrations import IntegrationsUpdate
from botcraft.agents.schemas import AgentCreate, AgentOut, AgentUpdate, PromptOut
from botcraft.auth.deps import CurrentUser, SettingsDep
from botcraft.channels.base import ChannelSetupError
from botcraft.channels.manager import ChannelManager
from botcraft.db import DatabaseDep, RowId, SessionDep, after_commit
from botcraft.errors import Unprocessable
from botcraft.knowledge import service as knowledge_service
from botcraft.knowledge import storage
from botcraft.openapi import errors

router = APIRouter(prefix="/api/agents", tags=["agents"])


@router.get("", response_model=list[AgentOut])
async def list_agents(user: CurrentUser, db: SessionDep, settings: SettingsDep) -> list[AgentOut]:
    return [service.to_out(a, settings.encryption_key) for a in await service.list_for(db, user)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=AgentOut, responses=errors(409))
async def create_agent(body: AgentCreate, user: CurrentUser, db: SessionDep, settings: SettingsDep) -> AgentOut:
    agent = await service.create(db, user, body, limit=settings.max_agents_per_user, key=settings.encryption_key,
                                 allow_private_urls=settings.allow_private_urls)
    return service.to_out(agent, settings.encryption_key)


@router.get("/{agent_id}", response_model=AgentOut)
async def get_agent(agent_id: RowId, user: CurrentUser, db: SessionDep, settings: SettingsDep) -> AgentOut:
    return service.to_out(await service.get_owned(db, user, agent_id), settings.encryption_key)


@router.put("/{agent_id}", response_model=AgentOut)
async def update_agent(
    agent_id: RowId, body: AgentUpdate, user: CurrentUser, db: SessionDep, settings: SettingsDep
) -> AgentOut:
    agent = await service.get_owned(db, user, agent_id, for_update=True)
    await service.update(db, agent, body, key=settings.encryption_key, allow_private_urls=settings.allow_private_urls)
    return service.to_out(agent, settings.encryption_key)


@router.delete("/{agent_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_agent(
    agent_id: RowId, request: Request, user: CurrentUser, db: SessionDep, database: DatabaseDep,
    settings: SettingsDep,
) -> None:
    agent = await service.get_owned(db, user, agent_id, for_update=True)
    shas = await knowledge_service.sha256s_of_agent(db, agent.id)
    integrations = dict(agent.integrations_json or {})
    await service.remove(db, agent)
    manager: ChannelManager = request.app.state.runtime.channels

    async def clean_up() -> None:
        # Files and the platforms' side (webhooks) go only once the rows are really gone.
        async with database.transaction(write=False) as session:
            await storage.remove_unreferenced(session, settings.data_dir, shas)
        await manager.teardown_removed(agent, integrations, dict.fromkeys(integrations))

    after_commit(db, clean_up)


@router.post("/{agent_id}/generate_prompt", response_model=PromptOut)
async def generate_prompt(agent_id: RowId, user: CurrentUser, db: SessionDep) -> PromptOut:
    agent = await service.get_owned(db, user, agent_id, for_update=True)
    return PromptOut(system_prompt=service.regenerate_prompt(agent))


@router.put("/{agent_id}/integrations", response_model=AgentOut, responses=errors(409))
async def put_integrations(
    agent_id: RowId, body: IntegrationsUpdate, request: Request, user: CurrentUser, db: DatabaseDep,
    settings: SettingsDep,
) -> AgentOut:
    """Check new channel settings with their platform first; store them only when that worked."""
    manager: ChannelManager = request.app.state.runtime.channels
    async with db.transaction(write=False) as session:
        agent = await service.get_owned(session, user, agent_id)
    old = dict(agent.integrations_json or {})
    service.set_integrations(agent, body, key=settings.encryption_key,
                             default_webhook_mode=settings.telegram_webhook_mode,
                             defaults=settings.channel_defaults())
    try:
        plans = await manager.prepare(agent, old, agent.integrations_json)
    except ChannelSetupError as exc:
        errors = [{"field": exc.field, "message": exc.message}] if exc.field else []
        raise Unprocessable(exc.message, code="channel_setup_failed", extra={"errors": errors}) from exc
    async with db.transaction() as session:
        stored = await service.get_owned(session, user, agent_id, for_update=True)
        stored.integrations_json = agent.integrations_json
        await manager.apply(session, stored, old, plans)
        await session.flush()
        out = service.to_out(stored, settings.encryption_key)
    await manager.teardown_removed(agent, old, plans)
    return out
