"""ChannelManager: the channels of a process, their set-up per agent, their status.

Integrations saved through the API are applied here: a new or changed channel is set up
with its platform (token checked, webhook registered or polling chosen) before anything is
stored, so a bad token is refused and never half-stored; a removed one is torn down.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from botcraft.channels.base import BaseChannel, ChannelContext
from botcraft.channels.integrations import masked, reveal
from botcraft.channels.registry import CHANNELS
from botcraft.channels.routes import Routes
from botcraft.config import Settings
from botcraft.errors import Conflict
from botcraft.i18n import translate_stored
from botcraft.models import Agent, ChannelState, utcnow
from botcraft.runtime import Runtime

log = structlog.get_logger("botcraft.channels")


def context_for(
    agent: Agent, channel: str, settings: Settings, plain: dict[str, Any] | None = None
) -> ChannelContext | None:
    """The agent's settings for `channel` (decrypted), with the server's env defaults filled in."""
    if plain is None:
        plain = reveal(agent.integrations_json, channel, settings.encryption_key)
    if plain is None:
        return None
    defaults = CHANNELS[channel].server_defaults(settings)
    return ChannelContext(agent.id, {
        **defaults,
        **{k: v for k, v in plain.items() if v not in (None, "")},
        "agent_name": agent.name,
        "agent_description": agent.business_description,
        "agent_language": agent.language,
    })


class ChannelManager:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.channels: dict[str, BaseChannel] = {name: cls(runtime) for name, cls in CHANNELS.items()}
        self.changed = asyncio.Event()  # wakes pollers when settings change
        self.routes = Routes()  # which agent a webhook is for

    def get(self, name: str) -> BaseChannel:
        return self.channels[name]

    def masked(self, stored: dict[str, Any]) -> dict[str, Any]:
        """An agent's channel settings as the API shows them (agents.router's IntegrationsView)."""
        return masked(stored, self.runtime.settings.encryption_key)

    async def prepare(self, agent: Agent, old: dict[str, Any], new: dict[str, Any]) -> dict[str, dict[str, Any] | None]:
        """Set up channels whose settings changed (before saving); None marks a removed one."""
        key = self.runtime.settings.encryption_key
        plans: dict[str, dict[str, Any] | None] = {}
        for name, channel in self.channels.items():
            before, after = reveal(old, name, key), reveal(new, name, key)
            if before == after:
                continue
            if after is None:
                plans[name] = None
                continue
            ctx = context_for(agent, name, self.runtime.settings, after)
            assert ctx is not None
            plans[name] = await channel.setup(ctx)
        return plans

    async def apply(self, session: AsyncSession, agent: Agent, old: dict[str, Any],
                    plans: dict[str, dict[str, Any] | None]) -> None:
        """Store the new channel states in the caller's transaction."""
        for name, plan in plans.items():
            state = await session.scalar(
                select(ChannelState).where(ChannelState.agent_id == agent.id, ChannelState.channel == name)
            )
            if plan is None:
                if state is not None:
                    await session.delete(state)
                continue
            if plan.get("route_key"):
                taken = await session.scalar(
                    select(ChannelState.agent_id).where(
                        ChannelState.channel == name, ChannelState.route_key == plan["route_key"],
                        ChannelState.agent_id != agent.id)
                )
                if taken is not None:
                    raise Conflict(f"This {name} account is already connected to another agent.",
                                   code="channel_in_use")
            if state is None:
                state = ChannelState(agent_id=agent.id, channel=name, details={})
                session.add(state)
            state.mode = plan.get("mode")
            state.route_key = plan.get("route_key")
            state.webhook_secret_hash = plan.get("webhook_secret_hash")
            state.details = plan.get("details") or {}
            state.enabled = True
            state.last_error = None
            state.lease_owner = None
            state.lease_expires_at = None
            if plan.get("mode") != "polling":
                state.polling_offset = None
        await session.flush()

    async def teardown_removed(self, agent: Agent, old: dict[str, Any], plans: dict[str, dict[str, Any] | None]
                               ) -> None:
        """After the commit: undo the platform side of removed channels (best effort)."""
        key = self.runtime.settings.encryption_key
        for name, plan in plans.items():
            if plan is None:
                ctx = context_for(agent, name, self.runtime.settings, reveal(old, name, key))
                if ctx is not None:
                    await self.channels[name].teardown(ctx)
        self.changed.set()

    async def tear_down_agent(self, removed: dict[str, Any]) -> None:
        """The `agent_removed` job's part here: every channel the deleted agent had is torn down."""
        agent = Agent(id=removed["agent_id"], name=removed["name"], language=removed["language"],
                      business_description=removed["business_description"])
        integrations = removed["integrations"]
        await self.teardown_removed(agent, integrations, dict.fromkeys(integrations))

    async def status(self, session: AsyncSession, agents: list[Agent]) -> list[dict[str, Any]]:
        states = {
            (s.agent_id, s.channel): s
            for s in await session.scalars(
                select(ChannelState).where(ChannelState.agent_id.in_([a.id for a in agents]))
            )
        }
        now = utcnow()
        rows = []
        for agent in agents:
            for name in self.channels:
                state = states.get((agent.id, name))
                configured = name in (agent.integrations_json or {})
                running = bool(state and state.enabled and configured and (
                    state.mode != "polling" or (state.lease_expires_at is not None and state.lease_expires_at > now)
                ))
                rows.append({
                    "agent_id": agent.id,
                    "agent_name": agent.name,
                    "channel": name,
                    "configured": configured,
                    "mode": state.mode if state else None,
                    "enabled": bool(state and state.enabled),
                    "running": running,
                    "last_event_at": state.last_event_at if state else None,
                    "last_error": translate_stored(state.last_error) if state else None,
                    "details": state.details if state else {},
                })
        return rows

    async def set_enabled(self, session: AsyncSession, agent_ids: list[int], channel: str | None, enabled: bool
                          ) -> None:
        query = select(ChannelState).where(ChannelState.agent_id.in_(agent_ids))
        if channel:
            query = query.where(ChannelState.channel == channel)
        for state in await session.scalars(query):
            state.enabled = enabled
            if not enabled:
                state.lease_owner, state.lease_expires_at = None, None
        self.changed.set()

    async def aclose(self) -> None:
        for channel in self.channels.values():
            await channel.aclose()


async def record_error(session: AsyncSession, agent_id: int, channel: str, error: str | None) -> None:
    state = await session.scalar(
        select(ChannelState).where(ChannelState.agent_id == agent_id, ChannelState.channel == channel)
    )
    if state is not None:
        state.last_error = error
        state.last_error_at = utcnow() if error else None
