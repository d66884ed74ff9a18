"""One turn: a question becomes one answer, grounded in the documents (`compose()`).

compose() is shared by both callers: dialogue/inbound.py `handle_inbound()` for the
customers' messages from the channels (a `channel_event` job), and `answer_message()` below
for the owner's test chat (the playground), inline in the request. Either way the answer
row points at the question through the unique `reply_to_id`, so a retried or duplicated
turn never stores a second answer.
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
from botcraft.dialogue import attention, offline, passages, prompting, smalltalk
from botcraft.i18n import N_
from botcraft.knowledge import answers
from botcraft.knowledge.search import Hit
from botcraft.llm.base import Completion, LLMError, LLMProvider, TextDelta
from botcraft.llm.openai_compat import OpenAICompatProvider
from botcraft.metrics.instruments import TURNS
from botcraft.models import Agent, Conversation, Message, utcnow
from botcraft.runtime import Runtime

log = structlog.get_logger("botcraft.dialogue")

HISTORY_MESSAGES = 20
PASSAGES = 5

OnDelta = Callable[[str], Awaitable[None]]


@dataclass
class Answer:
    text: str
    answered: bool  # False: the bot could not answer; the owner is asked to step in
    answered_by: str  # llm | offline | greeting | smalltalk | owner_answer
    sources: list[dict[str, Any]] = field(default_factory=list)
    model: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    attention_reason: str | None = None
    attention_kind: str | None = None  # why the owner is told (dialogue.attention), with the reason


def provider_for(agent: Agent, settings: Settings) -> tuple[LLMProvider | None, float]:
    """The agent's model, or None: offline.

    The platform's key goes only to the platform's own server (OPENAI_BASE_URL): an agent
    with a server of its own uses its own key there, or none (Ollama needs none), and that
    server is reached on public addresses only unless the operator allows private ones.
    """
    own_key = llm_api_key(agent, settings.encryption_key)
    own_server = bool(agent.llm_base_url) and not _same_server(agent.llm_base_url, settings.openai_base_url)
    if own_server:
        api_key, base_url = own_key, agent.llm_base_url
    else:
        api_key, base_url = own_key or settings.openai_api_key, settings.openai_base_url
    if not api_key and not base_url:
        return None, 0.0
    # Cheap per turn: the SDK client is shared per base URL and key.
    provider = OpenAICompatProvider(
        api_key or None, base_url or None, agent.llm_model or settings.openai_model,
        timeout_s=settings.llm_timeout_seconds, public_only=own_server and not settings.allow_private_urls,
    )
    temperature = agent.llm_temperature if agent.llm_temperature is not None else 0.3
    return provider, temperature


def _same_server(url: str | None, platform_url: str) -> bool:
    """Whether an agent's base URL is just the platform's own (saved from the settings, say)."""
    return (url or "").strip().rstrip("/") == platform_url.strip().rstrip("/")


def _offline(found: passages.Found, language: str, reason: str | None = None) -> Answer:
    # The owner is told when nothing answers, when only part of the question is answered,
    # and when the model failed (the documents answered instead).
    kind = attention.LLM_FAILED if reason else attention.NO_ANSWER
    result = offline.reply(found, language)
    if result.text is None:
        return Answer(offline.handover(language), answered=False, answered_by="offline",
                      attention_reason=reason or N_("No document answers this question."), attention_kind=kind)
    why = result.reason or reason
    return Answer(result.text, answered=result.reason is None, answered_by="offline",
                  sources=[h.source.as_dict() for h in result.used], attention_reason=why,
                  attention_kind=kind if why else None)


def _owner_answer(matched: answers.MatchedAnswer) -> Answer:
    """The owner's own answer to this question, word for word."""
    return Answer(matched.text, answered=True, answered_by="owner_answer",
                  sources=[{"answer_id": matched.answer_id, "question": matched.question}])


async def compose(
    runtime: Runtime,
    agent: Agent,
    question: str,
    history: list[prompting.HistoryItem],
    hits: list[Hit],
    *,
    on_delta: OnDelta | None = None,
    found: passages.Found | None = None,
    matched: answers.MatchedAnswer | None = None,
) -> Answer:
    """The answer to one message. `found` is the search step's reading of it (passages.find);
    without it the question is read again from `hits` alone."""
    answer = await _compose(runtime, agent, question, history, hits, on_delta=on_delta, found=found, matched=matched)
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
    found: passages.Found | None,
    matched: answers.MatchedAnswer | None,
) -> Answer:
    language = prompting.customer_language(question, agent.language)
    if prompting.is_greeting(question):
        return Answer(prompting.welcome(agent.name, agent.business_description, language),
                      answered=True, answered_by="greeting")
    if (small_talk := smalltalk.kind(question)) is not None:
        return Answer(smalltalk.reply(small_talk, language), answered=True, answered_by="smalltalk")
    if smalltalk.asks_for_person(question):
        return Answer(smalltalk.person_reply(language), answered=False, answered_by="offline",
                      attention_reason=N_("The customer asked for a person."),
                      attention_kind=attention.ASKED_FOR_PERSON)
    found = found or passages.without_search(question, history, hits)
    provider, temperature = provider_for(agent, runtime.settings)
    if provider is None:
        if matched is not None:
            return _owner_answer(matched)
        return _offline(found, language)
    hits = answers.prefer(hits, matched)

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
        reason = N_("The language model failed ({code}); the offline responder answered from the documents.")
        if matched is not None:
            return _owner_answer(matched)
        return _offline(found, language, reason=reason.format(code=exc.code))
    text, handover = prompting.strip_handover(completion.text)
    relevant = offline.relevant(found.parts[0].query, hits)
    return Answer(
        text=text or offline.handover(language),
        answered=not handover and bool(text),
        answered_by="llm",
        sources=[h.source.as_dict() for h in (relevant or hits)[:3]] if not handover else [],
        model=completion.model,
        prompt_tokens=completion.prompt_tokens,
        completion_tokens=completion.completion_tokens,
        attention_reason=N_("The assistant could not answer from the documents.") if handover else None,
        attention_kind=attention.NO_ANSWER if handover else None,
    )


async def answer_message(runtime: Runtime, inbound_id: int, *, on_delta: OnDelta | None = None) -> Message | None:
    """Answer one stored playground question. Returns the answer, or None when there is nothing to do."""
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
        provider, _ = provider_for(agent, runtime.settings)
        found = await passages.find(session, agent.id, inbound.text, history, limit=PASSAGES, rewrite=provider,
                                    language=prompting.customer_language(inbound.text, agent.language))
        hits = found.hits
        matched = await answers.matching_answer(session, inbound.text, hits)

    result = await compose(runtime, agent, inbound.text, history, hits, on_delta=on_delta, found=found,
                           matched=matched)

    async with db.transaction() as session:
        reply = Message(
            conversation_id=inbound.conversation_id,
            agent_id=inbound.agent_id,
            channel=inbound.channel,
            direction="out",
            author="bot",
            text=result.text,
            reply_to_id=inbound.id,
            status="sent",  # shown in the playground as it is stored
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
            if result.attention_kind is not None:
                inbound_row = await session.get(Message, inbound.id)
                await attention.flag_for_owner(session, conversation, result.attention_kind,
                                               result.attention_reason or "", message=inbound_row,
                                               handed_over=not result.answered)
    return reply
