"""A customer's message from a channel: `handle_inbound()` turns it into the answer to send.

channels/inbound.py calls this once per stored message event, with the conversation it read
in the same read as the event and the agent (`load_conversation`, a unit of `Database.run`):

    handle_inbound(runtime, agent, state, inbound, job=job)
      -> the owner answers by hand (mode "human"): the message is stored, flagged, no reply
      -> a photo or voice message: the polite "please write" reply
      -> otherwise: search the documents, compose() the answer
      -> ONE write: the conversation (upserted), the customer's message and the answer
         (already marked `sending` when the channel's pacer has a slot free this instant),
         or, with nothing to send, the job's completion
      -> the Outgoing answer, which the channel sends in the same job

Exactly one answer per message: the answer points at the question through the unique
`reply_to_id`, and the customer's message is unique by its channel id; a retried job finds
its earlier turn (`load_conversation(key=...)`) and sends that answer instead of a new one.
Delivery statuses come back through `apply_status()`; sends are recorded by `record_delivery()`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import ColumnElement, Table, and_, bindparam, func, insert, select, update
from sqlalchemy.engine import Connection

from botcraft.db import dialect_insert, per_dialect
from botcraft.dialogue import attention, engine, passages, prompting
from botcraft.dialogue.engine import HISTORY_MESSAGES, PASSAGES, Answer
from botcraft.i18n import N_
from botcraft.jobs.queue import ClaimedJob, complete_in
from botcraft.jobs.registry import RetryLater
from botcraft.knowledge import answers, vocabulary
from botcraft.models import Agent, Conversation, Message, table_of, utcnow

if TYPE_CHECKING:
    from botcraft.runtime import Runtime

log = structlog.get_logger("botcraft.dialogue")

WAITING_FOR_OWNER = N_("The conversation is in manual mode: the customer is waiting for your reply.")
WINDOW_CLOSED = N_(
    "Not sent: more than 24 hours have passed since the customer's last message, and this "
    "channel then allows only pre-approved template messages."
)
BLOCKED_BY_CUSTOMER = N_("The customer has blocked the bot: messages to them are no longer delivered.")
# An answer being handed to the platform right now: `queued` → `sending` → `sent`. A job that
# finds its answer still `sending` was killed in the middle of the send (see begin_send_in).
SENDING = "sending"
# Stored but not known to be sent: what a retry, a give-up or a dead job's hand-over looks for.
UNSENT = ("queued", SENDING)
SEND_INTERRUPTED = N_(
    "The server restarted while this answer was being sent. It was not sent again, so that the customer "
    "does not get it twice, but it may not have reached them: please check the conversation."
)
# A status never moves backwards (a late "delivered" after "read" changes nothing).
_STATUS_RANK = {"queued": 0, SENDING: 0, "sent": 1, "delivered": 2, "read": 3}
_MEDIA_LABELS = {
    "voice": "голосовое сообщение", "audio": "аудио", "video": "видео", "video_note": "видеосообщение",
    "sticker": "стикер", "document": "файл", "image": "фото", "animation": "GIF", "location": "геопозиция",
    "contact": "контакт", "unsupported": "вложение",
}


@dataclass(frozen=True, slots=True)
class Inbound:
    """A customer's message as dialogue needs it, whatever the channel."""

    channel: str
    chat_id: str
    text: str | None
    customer_name: str | None = None
    channel_message_id: str | None = None  # unique per agent and channel: the deduplication key
    media_kind: str | None = None  # set for a photo, voice message, sticker... without text
    customer_username: str | None = None  # Telegram's @username, where the channel gives one

    @property
    def media_only(self) -> bool:
        return not self.text and self.media_kind is not None

    @property
    def stored_text(self) -> str:
        # PostgreSQL cannot store NUL in text; a customer's message must not fail on one.
        text = self.text or f"[{_MEDIA_LABELS.get(self.media_kind or '', 'вложение')}]"
        return text.replace("\x00", "")


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A stored answer (status `queued`) and what its sender needs to know about the chat."""

    message_id: int
    conversation_id: int
    chat_id: str
    text: str
    blocked: bool = False
    last_customer_message_at: datetime | None = None
    # Still `sending`: an earlier attempt was killed while it handed the answer to the platform.
    interrupted: bool = False
    # Stored as `sending` by this attempt, its pacing slot taken at this time (epoch seconds):
    # the send goes out now.
    slot_at: float | None = None


@dataclass(slots=True)
class ConversationState:
    """What the read before a turn found: the conversation (if any) and its recent history."""

    conversation_id: int | None = None
    mode: str = "bot"
    blocked: bool = False
    history: list[prompting.HistoryItem] = field(default_factory=list)  # newest first
    # The agent's knowledge version, read with the conversation (knowledge.vocabulary.version_of()).
    knowledge_version: tuple[str, ...] | None = None
    # A retried job: its turn was stored before. The answer to (re)send, if it is still queued.
    stored_before: bool = False
    stored_reply: Outgoing | None = None


def media_reply(agent: Agent) -> str:
    if agent.media_reply:
        return agent.media_reply
    if agent.language == "en":
        return "Thank you! I can only read text messages for now — please type your question."
    return "Спасибо! Пока я понимаю только текстовые сообщения — напишите, пожалуйста, ваш вопрос текстом."


_CONVERSATIONS, _MESSAGES = table_of(Conversation), table_of(Message)

# What load_conversation() needs of the conversation, read joined to the caller's own row.
_JOINED = (_CONVERSATIONS.c.id.label("conversation_id"), _CONVERSATIONS.c.mode.label("conversation_mode"),
           _CONVERSATIONS.c.blocked.label("conversation_blocked"),
           _CONVERSATIONS.c.last_customer_message_at.label("conversation_last_customer_message_at"))
# The statements of every message's turn, built once and executed with parameters
# (db.per_dialect says why).
_HISTORY = (select(_MESSAGES.c.direction, _MESSAGES.c.text)
            .where(_MESSAGES.c.conversation_id == bindparam("conversation_id"))
            .order_by(_MESSAGES.c.id.desc()).limit(HISTORY_MESSAGES))
_MESSAGE_BY_KEY = select(_MESSAGES.c.id).where(
    _MESSAGES.c.agent_id == bindparam("agent_id"), _MESSAGES.c.channel == bindparam("channel"),
    _MESSAGES.c.channel_message_id == bindparam("key"))
_UNSENT_REPLY = select(_MESSAGES.c.id, _MESSAGES.c.text, _MESSAGES.c.status).where(
    _MESSAGES.c.reply_to_id == bindparam("question_id"), _MESSAGES.c.status.in_(UNSENT))
_INSERT_REPLY = insert(_MESSAGES).returning(_MESSAGES.c.id)
_SET_STATUS = (update(_MESSAGES).where(_MESSAGES.c.id == bindparam("message_id"))
               .returning(_MESSAGES.c.reply_to_id, _MESSAGES.c.author))
_BEGIN_SEND = update(_MESSAGES).where(_MESSAGES.c.id == bindparam("message_id"), _MESSAGES.c.status == "queued")
_RETRY_SEND = update(_MESSAGES).where(_MESSAGES.c.id == bindparam("message_id"), _MESSAGES.c.status == SENDING)


@per_dialect
def _upsert_conversation(insert: Any) -> Any:
    upsert = insert(_CONVERSATIONS)
    latest = upsert.excluded
    return upsert.on_conflict_do_update(
        index_elements=["agent_id", "channel", "external_chat_id"],
        set_={"last_message_at": latest.last_message_at,
              "last_customer_message_at": latest.last_customer_message_at,
              "last_message_text": latest.last_message_text,
              "customer_name": func.coalesce(latest.customer_name, _CONVERSATIONS.c.customer_name),
              "customer_username": func.coalesce(latest.customer_username, _CONVERSATIONS.c.customer_username)},
    ).returning(_CONVERSATIONS.c.id, _CONVERSATIONS.c.mode, _CONVERSATIONS.c.blocked,
                _CONVERSATIONS.c.needs_attention)


@per_dialect
def _insert_question(insert: Any) -> Any:
    return (insert(_MESSAGES).on_conflict_do_nothing(index_elements=["agent_id", "channel", "channel_message_id"])
            .returning(_MESSAGES.c.id))


# ------------------------------------------------------------------ the read


def conversation_join(agent_id: Any, channel: Any, chat_id: Any) -> tuple[Table, ColumnElement[bool], tuple[Any, ...]]:
    """How a caller reads the conversation in the same statement as its own row (channels read
    it with the stored event): the table to LEFT JOIN, the ON clause for the caller's agent,
    channel and chat id expressions, and the columns to select for load_conversation() (the
    conversation's, and the agent's knowledge version that the turn's search checks)."""
    on = and_(_CONVERSATIONS.c.agent_id == agent_id, _CONVERSATIONS.c.channel == channel,
              _CONVERSATIONS.c.external_chat_id == chat_id)
    return _CONVERSATIONS, on, (*_JOINED, *vocabulary.version_columns(agent_id))


def load_conversation(connection: Connection, joined: Mapping[Any, Any], agent_id: int, channel: str, chat_id: str,
                      *, key: str | None = None) -> ConversationState:
    """The conversation (`joined`: a row with conversation_join()'s columns) and its last
    messages (part of a unit). With `key` (a retried job), also whether the message with that
    channel id was stored, and its queued answer."""
    conversation_id = joined["conversation_id"]
    version = vocabulary.version_of(joined)
    if conversation_id is None:
        return ConversationState(knowledge_version=version)
    blocked = bool(joined["conversation_blocked"])
    state = ConversationState(conversation_id=conversation_id, mode=joined["conversation_mode"], blocked=blocked,
                              knowledge_version=version)
    rows = connection.execute(_HISTORY, {"conversation_id": conversation_id}).all()
    state.history = [prompting.HistoryItem("assistant" if r.direction == "out" else "user", r.text) for r in rows]
    if key is not None:
        inbound = connection.execute(_MESSAGE_BY_KEY, {"agent_id": agent_id, "channel": channel, "key": key}).first()
        if inbound is not None:
            state.stored_before = True
            reply = connection.execute(_UNSENT_REPLY, {"question_id": inbound.id}).first()
            if reply is not None:
                state.stored_reply = Outgoing(reply.id, conversation_id, chat_id, reply.text, blocked,
                                              joined["conversation_last_customer_message_at"],
                                              interrupted=reply.status == SENDING)
    return state


# ------------------------------------------------------------------ the turn


async def handle_inbound(
    runtime: Runtime,
    agent: Agent,
    state: ConversationState,
    inbound: Inbound,
    *,
    job: ClaimedJob,
    while_composing: Callable[[], Coroutine[Any, Any, None]] | None = None,
    send_now: Callable[[], Awaitable[float | None]] | None = None,
) -> Outgoing | None:
    """Answer one customer message; the stored answer to send, or None (the job is then done).

    `while_composing()` runs beside the search and the model's answer, and is cancelled when
    they are done (the channel's "typing…").

    `send_now()`, asked just before the answer is stored, takes the channel's pacing slot if
    it is free this instant and says when it was: the answer is then stored as `sending`
    (dialogue's half of begin_send_in, in the same write) and must be sent at once."""
    if state.stored_before:  # this job ran before and stored its turn
        if state.stored_reply is None:
            await runtime.db.run(partial(complete_in, job=job))
        return state.stored_reply
    answer: Answer | None = None
    if state.mode != "human" and not state.blocked:
        if inbound.media_only:
            answer = Answer(media_reply(agent), answered=True, answered_by="media")
        else:
            assert inbound.text is not None
            beside = asyncio.create_task(while_composing()) if while_composing is not None else None
            try:
                # Through the modules, so that their owners' changes (and tests' stand-ins) apply here.
                provider, _ = engine.provider_for(agent, runtime.settings)
                async with runtime.db.transaction(write=False) as session:
                    # Follow-ups are read with the customer's previous question (dialogue.passages).
                    found = await passages.find(session, agent.id, inbound.text, state.history, limit=PASSAGES,
                                                rewrite=provider, knowledge_version=state.knowledge_version,
                                                language=prompting.customer_language(inbound.text, agent.language))
                    matched = await answers.matching_answer(session, inbound.text, found.hits)
                answer = await engine.compose(runtime, agent, inbound.text, state.history, found.hits,
                                              found=found, matched=matched)
            finally:
                if beside is not None:
                    beside.cancel()
    slot_at = await send_now() if answer is not None and send_now is not None else None
    # Shared on PostgreSQL with the turns and webhooks stored at the same moment: new rows,
    # and a conversation's row that only its own chat's turns touch.
    outgoing, noticed = await runtime.db.run(
        partial(_store_turn, agent_id=agent.id, inbound=inbound, answer=answer, job=job, slot_at=slot_at),
        share=True)
    if noticed:
        runtime.db.wakeup.notify()  # the owner's notice goes out now, not at the next poll
    return outgoing


def _store_turn(connection: Connection, *, agent_id: int, inbound: Inbound, answer: Answer | None,
                job: ClaimedJob, slot_at: float | None = None) -> tuple[Outgoing | None, bool]:
    """One write: conversation, the customer's message, the answer (or the job's completion),
    and the owner's notice when the conversation needs them. Also whether a notice job was queued."""
    now = utcnow()
    text = inbound.stored_text
    conversation = connection.execute(_upsert_conversation(connection), {
        "agent_id": agent_id, "channel": inbound.channel, "external_chat_id": inbound.chat_id,
        "customer_name": inbound.customer_name, "customer_username": inbound.customer_username, "mode": "bot",
        "needs_attention": False, "blocked": False, "created_at": now, "last_message_at": now,
        "last_customer_message_at": now, "last_message_text": (answer.text if answer else text)[:500],
    }).one()
    waiting = conversation.mode == "human"  # the owner may have taken over while we composed
    inbound_id = connection.execute(_insert_question(connection), {
        "conversation_id": conversation.id, "agent_id": agent_id, "channel": inbound.channel, "direction": "in",
        "author": "customer", "text": text, "channel_message_id": inbound.channel_message_id,
        "status": "pending" if waiting else "received", "created_at": now,
    }).scalar()
    if inbound_id is None:  # stored before: a redelivery under another event id
        complete_in(connection, job)
        return None, False
    noticed = False
    if waiting:
        noticed = attention.flag_in(connection, conversation.id, attention.WAITING, WAITING_FOR_OWNER,
                                    message_id=inbound_id)
    elif answer is not None and answer.attention_kind is not None and not conversation.blocked:
        noticed = attention.flag_in(connection, conversation.id, answer.attention_kind, answer.attention_reason or "",
                                    message_id=inbound_id, handed_over=not answer.answered)
    elif conversation.needs_attention:  # a further message while the owner is asked to step in
        noticed = attention.customer_wrote_in(connection, conversation.id)
    if waiting or conversation.blocked or answer is None:
        if waiting or (answer is not None and conversation.blocked):
            connection.execute(update(Conversation).where(Conversation.id == conversation.id)
                               .values(last_message_text=text[:500]))
        complete_in(connection, job)
        return None, noticed
    reply_id = connection.execute(_INSERT_REPLY, {
        "conversation_id": conversation.id, "agent_id": agent_id, "channel": inbound.channel, "direction": "out",
        "author": "bot", "text": answer.text, "reply_to_id": inbound_id,
        "status": "queued" if slot_at is None else SENDING, "sources": answer.sources,
        "answered_by": answer.answered_by, "model": answer.model,
        "prompt_tokens": answer.prompt_tokens, "completion_tokens": answer.completion_tokens, "created_at": now,
    }).scalar_one()
    return Outgoing(reply_id, conversation.id, inbound.chat_id, answer.text, False, now, slot_at=slot_at), noticed


# ------------------------------------------------------------------ after sending


def record_delivery(connection: Connection, outgoing: Outgoing, *, status: str, error: str | None = None,
                    channel_message_id: str | None = None, blocked: bool = False,
                    needs_owner: str | None = None) -> bool:
    """What the channel's send did to a stored answer (part of the sender's unit).

    `needs_owner` is why the owner must step in (a dialogue.attention kind; `error` says it in
    words): the conversation is flagged and they are told. True when a notice job was queued.
    """
    values: dict[str, Any] = {"message_id": outgoing.message_id, "status": status, "error": error}
    if channel_message_id:
        values["channel_message_id"] = channel_message_id
    question = connection.execute(_SET_STATUS, values).first()
    if blocked:
        connection.execute(update(Conversation).where(Conversation.id == outgoing.conversation_id)
                           .values(blocked=True))
    if needs_owner is None:
        return False
    return attention.flag_in(connection, outgoing.conversation_id, needs_owner, error or "",
                             message_id=question.reply_to_id if question else None,
                             handed_over=bool(question and question.author == "bot"))


def begin_send_in(connection: Connection, message_id: int) -> bool:
    """Mark a queued answer `sending`, just before it goes to the platform (a unit of its own).

    Neither Telegram nor the Graph API takes an idempotency key, so a process killed between
    the platform accepting an answer and our record of it cannot know whether it went out.
    The mark makes that case visible: a later attempt that finds it does not send again (the
    platform almost surely has it: the mark is committed only as the request leaves), and
    the owner is asked to check instead. False when the answer is no longer queued.
    """
    return bool(connection.execute(_BEGIN_SEND, {"message_id": message_id, "status": SENDING}).rowcount)


def retry_send_in(connection: Connection, message_id: int) -> None:
    """The platform refused the send for now (429, 5xx): the answer is queued again, to be resent."""
    connection.execute(_RETRY_SEND, {"message_id": message_id, "status": "queued"})


def load_outgoing(connection: Connection, message_id: int) -> tuple[Outgoing, int, str] | None:
    """A queued answer (the owner's reply, or a bot answer whose send is retried): the answer,
    its agent id and its channel; None when it was sent before or is gone."""
    row = connection.execute(
        select(Message.id, Message.text, Message.status, Message.agent_id, Conversation.id.label("conversation_id"),
               Conversation.channel, Conversation.external_chat_id, Conversation.blocked,
               Conversation.last_customer_message_at)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Message.id == message_id, Message.status.in_(UNSENT))
    ).first()
    if row is None:
        return None
    outgoing = Outgoing(row.id, row.conversation_id, row.external_chat_id, row.text, bool(row.blocked),
                        row.last_customer_message_at, interrupted=row.status == SENDING)
    return outgoing, row.agent_id, row.channel


# ------------------------------------------------------------------ events that are not questions


async def set_blocked(runtime: Runtime, agent_id: int, channel: str, chat_id: str, customer_name: str | None,
                      blocked: bool) -> None:
    """The customer blocked (or unblocked) the bot; a new block is the owner's to know."""
    def unit(connection: Connection) -> bool:
        now = utcnow()
        was = connection.execute(select(Conversation.blocked).where(
            Conversation.agent_id == agent_id, Conversation.channel == channel,
            Conversation.external_chat_id == chat_id)).scalar()
        upsert = dialect_insert(connection)(Conversation).values(
            agent_id=agent_id, channel=channel, external_chat_id=chat_id, customer_name=customer_name, mode="bot",
            needs_attention=False, blocked=blocked, last_message_at=now, created_at=now,
        )
        conversation_id = connection.execute(upsert.on_conflict_do_update(
            index_elements=["agent_id", "channel", "external_chat_id"], set_={"blocked": blocked})
            .returning(Conversation.id)).scalar_one()
        if blocked and not was:
            return attention.flag_in(connection, conversation_id, attention.BLOCKED, BLOCKED_BY_CUSTOMER)
        return False

    if await runtime.db.run(unit):
        runtime.db.wakeup.notify()


async def apply_status(runtime: Runtime, job: ClaimedJob, agent_id: int, channel: str, *, status: str | None,
                       status_of: str | None, error: str | None, error_code: str | None) -> None:
    """A delivery status from the platform, applied to our outbound message by one conditional UPDATE:
    status jobs run concurrently, and a read-then-write would let a late "delivered" overwrite
    "read". Statuses only ever move forward."""
    if not status_of or not status:
        return
    ours = and_(Message.agent_id == agent_id, Message.channel == channel,
                Message.channel_message_id == status_of, Message.direction == "out")
    if status == "failed":
        values: dict[str, Any] = {"status": "failed", "error": error or "The platform reported the message as failed."}
        condition = ours
    else:
        rank = _STATUS_RANK.get(status, -1)
        values, condition = {"status": status}, and_(ours, Message.status.in_(
            [name for name, r in _STATUS_RANK.items() if r < rank]))

    noticed = False

    def unit(connection: Connection) -> bool:
        nonlocal noticed
        noticed = False
        updated = connection.execute(
            update(Message).where(condition).values(**values)
            .returning(Message.conversation_id, Message.reply_to_id, Message.author)
        ).first()
        if updated is None:
            return connection.execute(select(Message.id).where(ours)).first() is not None
        if status == "failed" and error_code == "131047":
            noticed = attention.flag_in(connection, updated.conversation_id, attention.WINDOW_CLOSED, WINDOW_CLOSED,
                                        message_id=updated.reply_to_id, handed_over=updated.author == "bot")
        return True

    found = await runtime.db.run(unit)
    if noticed:
        runtime.db.wakeup.notify()
    if not found:
        # Meta can report "sent" before our sender has stored the message's id.
        if job.attempts < 3:
            raise RetryLater("status for a message not stored yet", seconds=1.0)
        log.info("status_for_unknown_message", status=status)
