"""One turn: a stored customer message becomes one stored answer, grounded in the documents.

Used by the `dialogue_turn` job (channels) and inline by the owner's playground. A turn is
idempotent: the answer row points at the question through a unique `reply_to_id`, so a
retried or duplicated turn never produces a second answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from botcraft.agents.service import llm_api_key
from botcraft.config import Settings
from botcraft.dialogue import offline, prompting
from botcraft.jobs.queue import ClaimedJob, enqueue
from botcraft.knowledge.search import Hit, search
from botcraft.llm.base import Completion, LLMError, LLMProvider, TextDelta
from botcraft.llm.openai_compat import OpenAICompatProvider
from botcraft.metrics.instruments import TURNS
from botcraft.models import Agent, Conversation, Message, utcnow
from botcraft.runtime import Runtime

log = structlog.get_logger("botcraft.dialogue")

DELIVER_MESSAGE = "deliver_message"
HISTORY_MESSAGES = 20
PASSAGES = 5

OnDelta = Callable[[str], Awaitable[None]]


@dataclass
class Answer:
    text: str
    answered: bool  # False: the bot could not answer; the owner is asked to step in
    answered_by: str  # llm | offline | greeting
    sources: list[dict[str, Any]] = field(default_factory=list)
    model: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    attention_reason: str | None = None


def provider_for(agent: Agent, settings: Settings) -> tuple[LLMProvider | None, float]:
    """The agent's model (its own key and base URL override the server's), or None: offline."""
    api_key = llm_api_key(agent, settings.encryption_key) or settings.openai_api_key
    base_url = agent.llm_base_url or settings.openai_base_url
    if not api_key and not base_url:
        return None, 0.0
    # Cheap per turn: the SDK client is shared per base URL and key.
    provider = OpenAICompatProvider(
        api_key or None, base_url or None, agent.llm_model or settings.openai_model,
        timeout_s=settings.llm_timeout_seconds,
    )
    temperature = agent.llm_temperature if agent.llm_temperature is not None else 0.3
    return provider, temperature


def _offline(question: str, hits: list[Hit], language: str, reason: str | None = None) -> Answer:
    chosen = offline.relevant(question, hits)
    text = offline.answer(chosen, language)
    if text is None:
        return Answer(offline.handover(language), answered=False, answered_by="offline",
                      attention_reason=reason or "No document answers this question.")
    return Answer(text, answered=True, answered_by="offline", sources=[h.source.as_dict() for h in chosen[:2]],
                  attention_reason=reason)


async def compose(
    runtime: Runtime,
    agent: Agent,
    question: str,
    history: list[prompting.HistoryItem],
    hits: list[Hit],
    *,
    on_delta: OnDelta | None = None,
) -> Answer:
    answer = await _compose(runtime, agent, question, history, hits, on_delta=on_delta)
    TURNS.labels(answer.answered_by).inc()
    return answer


async def _compose(
    runtime: Runtime,
    agent: Agent,
    question: str,
    history: list[prompting.HistoryItem],
    hits: list[Hit],
    *,
    on_delta: OnDelta | None,
) -> Answer:
    language = prompting.customer_language(question, agent.language)
    if prompting.is_greeting(question):
        return Answer(prompting.welcome(agent.name, agent.business_description, language),
                      answered=True, answered_by="greeting")
    provider, temperature = provider_for(agent, runtime.settings)
    if provider is None:
        return _offline(question, hits, language)

    messages = prompting.build_messages(agent.system_prompt, hits, history, question, language=language)
    try:
        completion: Completion | None = None
        if on_delta is None:
            completion = await provider.complete(messages, temperature=temperature)
        else:
            async for event in provider.stream(messages, temperature=temperature):
                if isinstance(event, TextDelta):
                    await on_delta(event.text)
                else:
                    completion = event
        assert completion is not None
    except LLMError as exc:
        # The model is down or refuses: the documents still answer, and the owner is told why.
        log.warning("llm_failed_offline_answer", code=exc.code, error=exc.message)
        return _offline(question, hits, language, reason=f"The language model failed ({exc.code}); "
                        "the offline responder answered from the documents.")
    text, handover = prompting.strip_handover(completion.text)
    relevant = offline.relevant(question, hits)
    return Answer(
        text=text or offline.handover(language),
        answered=not handover and bool(text),
        answered_by="llm",
        sources=[h.source.as_dict() for h in (relevant or hits)[:3]] if not handover else [],
        model=completion.model,
        prompt_tokens=completion.prompt_tokens,
        completion_tokens=completion.completion_tokens,
        attention_reason="The assistant could not answer from the documents." if handover else None,
    )


async def answer_message(
    runtime: Runtime, inbound_id: int, *, job: ClaimedJob | None = None, on_delta: OnDelta | None = None
) -> Message | None:
    """Answer one stored inbound message. Returns the answer, or None when there is nothing to do."""
    db = runtime.db
    async with db.transaction(write=False) as session:
        inbound = await session.get(Message, inbound_id)
        if inbound is None:
            return None
        existing = await session.scalar(select(Message).where(Message.reply_to_id == inbound_id))
        if existing is not None:
            return existing  # answered before (a retried job): never answer twice
        conversation = await session.get(Conversation, inbound.conversation_id)
        agent = await session.get(Agent, inbound.agent_id)
        if conversation is None or agent is None or conversation.mode == "human" or conversation.blocked:
            return None
        rows = await session.scalars(
            select(Message)
            .where(Message.conversation_id == conversation.id, Message.id < inbound_id)
            .order_by(Message.id.desc())
            .limit(HISTORY_MESSAGES)
        )
        history = [prompting.HistoryItem("assistant" if m.direction == "out" else "user", m.text) for m in rows]
        hits = await search(session, agent.id, inbound.text, limit=PASSAGES)

    result = await compose(runtime, agent, inbound.text, history, hits, on_delta=on_delta)

    async with db.transaction() as session:
        if job is not None and not await job.complete_in(session):
            return None  # our lease ran out and another worker has the turn now
        reply = Message(
            conversation_id=inbound.conversation_id,
            agent_id=inbound.agent_id,
            channel=inbound.channel,
            direction="out",
            author="bot",
            text=result.text,
            reply_to_id=inbound.id,
            status="sent" if inbound.channel == "playground" else "queued",
            sources=result.sources,
            answered_by=result.answered_by,
            model=result.model,
            prompt_tokens=result.prompt_tokens,
            completion_tokens=result.completion_tokens,
        )
        try:
            async with session.begin_nested():
                session.add(reply)
                await session.flush()
        except IntegrityError:
            return None  # another worker answered in the meantime
        conversation = await session.get(Conversation, inbound.conversation_id)
        if conversation is not None:
            conversation.last_message_at = utcnow()
            conversation.last_message_text = result.text[:500]
            if not result.answered:
                conversation.needs_attention = True
                conversation.attention_reason = result.attention_reason
        if inbound.channel != "playground":
            enqueue(session, DELIVER_MESSAGE, {"message_id": reply.id})
    return reply
