"""Agents: CRUD with ownership, the per-user limit, prompts. Never commits."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from botcraft.agents.prompts import detect_language, generate_system_prompt
from botcraft.agents.schemas import AgentCreate, AgentOut, AgentUpdate, LLMSettingsOut
from botcraft.crypto import decrypt, encrypt, mask
from botcraft.errors import Conflict, NotFound, Unprocessable
from botcraft.i18n import N_
from botcraft.jobs.kinds import AGENT_REMOVED
from botcraft.jobs.queue import enqueue
from botcraft.models import Agent, Document, User
from botcraft.netguard import check_public_url


async def get_owned(db: AsyncSession, user: User, agent_id: int, *, for_update: bool = False) -> Agent:
    """The agent if it belongs to `user`; otherwise 404, never a hint that it exists."""
    query = select(Agent).where(Agent.id == agent_id, Agent.user_id == user.id)
    if for_update:
        query = query.with_for_update()
    agent = await db.scalar(query)
    if agent is None:
        raise NotFound("Agent not found.", code="agent_not_found")
    return agent


async def list_for(db: AsyncSession, user: User) -> list[Agent]:
    return list(await db.scalars(select(Agent).where(Agent.user_id == user.id).order_by(Agent.id)))


async def _refuse_private_llm_url(url: str | None, *, allow_private_urls: bool) -> None:
    """An owner's own LLM server must be on the public internet (see botcraft.netguard)."""
    if not url or allow_private_urls:
        return
    problem = await check_public_url(url)
    if problem:
        raise Unprocessable(N_("«llm_base_url»: {problem}.").format(problem=problem),
                            extra={"errors": [{"field": "llm_base_url", "message": problem}]})


async def create(
    db: AsyncSession, user: User, data: AgentCreate, *, limit: int, key: str, allow_private_urls: bool = False
) -> Agent:
    await _refuse_private_llm_url(data.llm_base_url, allow_private_urls=allow_private_urls)
    # Serialise creates per user: PostgreSQL locks the user row; SQLite write transactions
    # already hold the database's write lock (BEGIN IMMEDIATE), so count-then-insert is safe.
    await db.execute(select(User.id).where(User.id == user.id).with_for_update())
    count = await db.scalar(select(func.count()).select_from(Agent).where(Agent.user_id == user.id))
    if (count or 0) >= limit:
        raise Conflict(
            N_("You already have {limit} agents, the most allowed; delete one to create another.").format(limit=limit),
            code="agent_limit_reached",
            extra={"limit": limit},
        )
    language = data.language or detect_language(data.business_description, data.capabilities, data.name)
    agent = Agent(
        user_id=user.id,
        name=data.name,
        business_description=data.business_description,
        capabilities=data.capabilities,
        tone=data.tone,
        language=language,
        llm_model=data.llm_model,
        llm_temperature=data.llm_temperature,
        llm_base_url=data.llm_base_url,
        llm_api_key=encrypt(data.llm_api_key, key) if data.llm_api_key else None,
        media_reply=data.media_reply,
        synonyms=data.synonyms or "",
        is_active=True if data.is_active is None else data.is_active,
        integrations_json={},
    )
    agent.system_prompt = (data.system_prompt or "").strip() or generate_system_prompt(
        agent.name, agent.business_description, agent.capabilities, agent.tone, language
    )
    db.add(agent)
    await db.flush()
    return agent


async def update(
    db: AsyncSession, agent: Agent, data: AgentUpdate, *, key: str, allow_private_urls: bool = False
) -> Agent:
    fields = data.model_dump(exclude_unset=True)
    if fields.get("llm_base_url") and fields["llm_base_url"] != agent.llm_base_url:
        await _refuse_private_llm_url(fields["llm_base_url"], allow_private_urls=allow_private_urls)
    if "llm_api_key" in fields:
        secret = fields.pop("llm_api_key")
        agent.llm_api_key = encrypt(secret, key) if secret else None
    for name, value in fields.items():  # null only reaches the fields that may be empty
        if name == "system_prompt" and value is not None:
            value = value.strip()
        setattr(agent, name, value)
    if not agent.system_prompt:
        agent.system_prompt = generate_system_prompt(
            agent.name, agent.business_description, agent.capabilities, agent.tone, agent.language
        )
    await db.flush()
    return agent


def regenerate_prompt(agent: Agent) -> str:
    agent.language = detect_language(agent.business_description, agent.capabilities, agent.name)
    agent.system_prompt = generate_system_prompt(
        agent.name, agent.business_description, agent.capabilities, agent.tone, agent.language
    )
    return agent.system_prompt


async def remove(db: AsyncSession, agent: Agent) -> None:
    """Delete the agent and queue what lies outside its rows, in the same transaction.

    Rows below the agent go by ON DELETE CASCADE. Its bots (webhooks on the platforms) and
    its documents' files are undone by the `agent_removed` job once the rows are really gone,
    so a rollback never leaves rows without files, and a crash never forgets the clean-up.
    The payload keeps the channel settings as stored (secrets encrypted) until the job is done.
    """
    files = list(await db.scalars(select(Document.sha256).where(Document.agent_id == agent.id)))
    enqueue(db, AGENT_REMOVED, {
        "agent_id": agent.id, "name": agent.name, "business_description": agent.business_description,
        "language": agent.language, "integrations": dict(agent.integrations_json or {}), "files": files,
    })
    await db.execute(delete(Agent).where(Agent.id == agent.id))


def llm_api_key(agent: Agent, key: str) -> str | None:
    return decrypt(agent.llm_api_key, key) if agent.llm_api_key else None


def to_out(agent: Agent, key: str, *, integrations: dict[str, Any]) -> AgentOut:
    """The agent as the API shows it; `integrations` is its channel settings already masked
    (channels knows which fields are secrets: IntegrationsView.masked)."""
    return AgentOut(
        id=agent.id,
        name=agent.name,
        business_description=agent.business_description,
        capabilities=agent.capabilities,
        tone=agent.tone,
        system_prompt=agent.system_prompt,
        language=agent.language,
        is_active=agent.is_active,
        media_reply=agent.media_reply,
        synonyms=agent.synonyms or "",
        llm=LLMSettingsOut(
            model=agent.llm_model,
            temperature=agent.llm_temperature,
            base_url=agent.llm_base_url,
            api_key=mask(llm_api_key(agent, key)),
        ),
        integrations=integrations,
        created_at=agent.created_at,
        updated_at=agent.updated_at,
    )
