"""`/api/agents`: an owner's agents. Their channel settings are channels' routes
(`PUT /api/agents/{id}/integrations`); here they are only shown, masked."""

from __future__ import annotations

from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Depends, Request, status

from botcraft.agents import service
from botcraft.agents.schemas import AgentCreate, AgentOut, AgentUpdate, PromptOut
from botcraft.auth.deps import CurrentUser, SettingsDep
from botcraft.db import RowId, SessionDep
from botcraft.models import Agent
from botcraft.openapi import errors

router = APIRouter(prefix="/api/agents", tags=["agents"])


class IntegrationsView(Protocol):
    """Shows an agent's channel settings with their secrets masked (channels.ChannelManager:
    only channels knows which fields are secrets)."""

    def masked(self, stored: dict[str, Any]) -> dict[str, Any]: ...


def _integrations_view(request: Request) -> IntegrationsView:
    view: IntegrationsView = request.app.state.runtime.channels
    return view


class _Shown:
    def __init__(self, settings: SettingsDep,
                 view: Annotated[IntegrationsView, Depends(_integrations_view)]) -> None:
        self.key = settings.encryption_key
        self.view = view

    def __call__(self, agent: Agent) -> AgentOut:
        return service.to_out(agent, self.key, integrations=self.view.masked(agent.integrations_json or {}))


Shown = Annotated[_Shown, Depends()]


@router.get("", response_model=list[AgentOut])
async def list_agents(user: CurrentUser, db: SessionDep, shown: Shown) -> list[AgentOut]:
    return [shown(a) for a in await service.list_for(db, user)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=AgentOut, responses=errors(409))
async def create_agent(body: AgentCreate, user: CurrentUser, db: SessionDep, settings: SettingsDep,
                       shown: Shown) -> AgentOut:
    agent = await service.create(db, user, body, limit=settings.max_agents_per_user, key=settings.encryption_key,
                                 allow_private_urls=settings.allow_private_urls)
    return shown(agent)


@router.get("/{agent_id}", response_model=AgentOut)
async def get_agent(agent_id: RowId, user: CurrentUser, db: SessionDep, shown: Shown) -> AgentOut:
    return shown(await service.get_owned(db, user, agent_id))


@router.put("/{agent_id}", response_model=AgentOut)
async def update_agent(
    agent_id: RowId, body: AgentUpdate, user: CurrentUser, db: SessionDep, settings: SettingsDep, shown: Shown
) -> AgentOut:
    agent = await service.get_owned(db, user, agent_id, for_update=True)
    await service.update(db, agent, body, key=settings.encryption_key, allow_private_urls=settings.allow_private_urls)
    return shown(agent)


@router.delete("/{agent_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_agent(agent_id: RowId, user: CurrentUser, db: SessionDep) -> None:
    """Gone at once for the API; its bots and files are undone by a job (agents.service.remove)."""
    await service.remove(db, await service.get_owned(db, user, agent_id, for_update=True))


@router.post("/{agent_id}/generate_prompt", response_model=PromptOut)
async def generate_prompt(agent_id: RowId, user: CurrentUser, db: SessionDep) -> PromptOut:
    agent = await service.get_owned(db, user, agent_id, for_update=True)
    return PromptOut(system_prompt=service.regenerate_prompt(agent))
