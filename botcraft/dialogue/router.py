from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from botcraft.agents.service import get_owned
from botcraft.auth.deps import CurrentUser
from botcraft.db import Database, DatabaseDep, RowId, SessionDep
from botcraft.dialogue import service
from botcraft.dialogue.engine import answer_message
from botcraft.dialogue.schemas import (
    ChatIn,
    ChatOut,
    ConversationOut,
    ConversationPage,
    MessageOut,
    ModeIn,
    OwnerReplyIn,
)
from botcraft.errors import Conflict, NotFound
from botcraft.i18n import N_, t
from botcraft.models import Conversation, Message, User
from botcraft.openapi import errors
from botcraft.runtime import Runtime

router = APIRouter(tags=["dialogue"])

# Past this page the offset would overflow the database's integers; nobody has that many.
MAX_PAGE = 1_000_000
MANUAL_MODE = N_("This conversation is in manual mode: switch it back to the bot to test answers.")


async def _ask(db: Database, user: User, agent_id: int, body: ChatIn) -> tuple[int, int]:
    """Store the owner's test question; (message id, conversation id)."""
    async with db.transaction() as session:
        agent = await get_owned(session, user, agent_id)
        if body.conversation_id is not None:
            conversation = await service.owned_conversation(session, user, body.conversation_id)
            if conversation.agent_id != agent.id or conversation.channel != "playground":
                raise NotFound("Conversation not found.", code="conversation_not_found")
            chat_id = conversation.external_chat_id
        else:
            chat_id = f"owner-{user.id}-{secrets.token_hex(6)}"
        message = await service.record_inbound(
            session, agent,
            service.Inbound(channel="playground", chat_id=chat_id, text=body.message,
                            customer_name=user.display_name or user.email),
        )
        assert message is not None
        return message.id, message.conversation_id


async def _chat_out(db: Database, reply: Message) -> ChatOut:
    async with db.transaction(write=False) as session:
        conversation = await session.get(Conversation, reply.conversation_id)
    return ChatOut(
        reply=reply.text, conversation_id=reply.conversation_id, message_id=reply.id,
        answered_by=reply.answered_by or "bot", needs_attention=bool(conversation and conversation.needs_attention),
        sources=reply.sources or [],
    )


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


@router.post("/api/agents/{agent_id}/chat", response_model=ChatOut, responses=errors(409))
async def chat(agent_id: RowId, body: ChatIn, user: CurrentUser, db: DatabaseDep, request: Request) -> ChatOut:
    message_id, _ = await _ask(db, user, agent_id, body)
    reply = await answer_message(_runtime(request), message_id)
    if reply is None:
        raise Conflict(MANUAL_MODE, code="manual_mode")
    return await _chat_out(db, reply)


_SSE_EVENT = {  # one server-sent event; `data` is JSON (as /chat for `done`, an error for `error`)
    "type": "object", "required": ["event", "data"],
    "properties": {"event": {"enum": ["start", "delta", "done", "error"]}, "data": {"type": "string"}},
}


def _sse(event: str, data: object) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n".encode()


@router.post("/api/agents/{agent_id}/chat/stream", response_class=StreamingResponse,
             responses={200: {"content": {"text/event-stream": {"schema": _SSE_EVENT}}}, **errors(409)})
async def chat_stream(agent_id: RowId, body: ChatIn, user: CurrentUser, db: DatabaseDep, request: Request
                      ) -> StreamingResponse:
    """Server-sent events: `start` {conversation_id}, `delta` {text}..., then `done` (as /chat) or `error`."""
    message_id, conversation_id = await _ask(db, user, agent_id, body)
    runtime = _runtime(request)

    async def events() -> AsyncIterator[bytes]:
        yield _sse("start", {"conversation_id": conversation_id, "message_id": message_id})
        deltas: asyncio.Queue[str | None] = asyncio.Queue()

        async def on_delta(text: str) -> None:
            await deltas.put(text)

        async def run() -> Message | None:
            try:
                return await answer_message(runtime, message_id, on_delta=on_delta)
            finally:
                await deltas.put(None)

        task = asyncio.create_task(run())
        streamed = False
        try:
            while (delta := await deltas.get()) is not None:
                streamed = True
                yield _sse("delta", {"text": delta})
            reply = await task
        except Exception:  # noqa: BLE001 - the client gets words, the log the details
            yield _sse("error", {"detail": t("The answer could not be produced; please try again."),
                                 "code": "internal_error"})
            return
        finally:
            if not task.done():
                task.cancel()
        if reply is None:
            yield _sse("error", {"detail": MANUAL_MODE, "code": "manual_mode"})
            return
        if not streamed:  # offline answers and greetings arrive whole
            yield _sse("delta", {"text": reply.text})
        yield _sse("done", (await _chat_out(db, reply)).model_dump())

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.get("/api/agents/{agent_id}/conversations", response_model=ConversationPage)
async def list_conversations(
    agent_id: RowId,
    user: CurrentUser,
    db: SessionDep,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 20,
    attention_first: bool = False,
    attention: bool = False,
) -> ConversationPage:
    """`attention=true`: only the conversations that need the owner ("Нужно внимание")."""
    agent = await get_owned(db, user, agent_id)
    items, total = await service.list_conversations(
        db, agent.id, page=page, per_page=per_page, attention_first=attention_first, attention_only=attention
    )
    previews = await service.previews(db, [c.id for c in items])
    return ConversationPage(
        items=[_conversation_out(c, previews.get(c.id)) for c in items], page=page, per_page=per_page,
        total=total, attention_total=await service.attention_count(db, agent.id))


def _conversation_out(conversation: Conversation, preview: service.Preview | None = None) -> ConversationOut:
    out = ConversationOut.model_validate(conversation)
    return out.model_copy(update={
        "is_test": conversation.channel == "playground",
        "last_customer_text": preview.customer_text if preview else None,
        "last_author": preview.last_author if preview else None,
    })


@router.get("/api/conversations/{conversation_id}", response_model=ConversationOut)
async def get_conversation(conversation_id: RowId, user: CurrentUser, db: SessionDep) -> ConversationOut:
    conversation = await service.owned_conversation(db, user, conversation_id)
    return _conversation_out(conversation, (await service.previews(db, [conversation.id])).get(conversation.id))


@router.get("/api/conversations/{conversation_id}/messages", response_model=list[MessageOut])
async def list_messages(
    conversation_id: RowId,
    user: CurrentUser,
    db: SessionDep,
    before_id: RowId | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 100,
) -> list[Message]:
    conversation = await service.owned_conversation(db, user, conversation_id)
    return await service.messages_of(db, conversation, before_id=before_id, limit=limit)


@router.post("/api/conversations/{conversation_id}/mode", response_model=ConversationOut)
async def set_mode(conversation_id: RowId, body: ModeIn, user: CurrentUser, db: SessionDep) -> Conversation:
    conversation = await service.owned_conversation(db, user, conversation_id)
    await service.set_mode(db, conversation, body.mode)
    await db.flush()
    return conversation


@router.post("/api/conversations/{conversation_id}/messages", response_model=MessageOut, status_code=201)
async def owner_reply(conversation_id: RowId, body: OwnerReplyIn, user: CurrentUser, db: SessionDep) -> Message:
    conversation = await service.owned_conversation(db, user, conversation_id)
    return await service.owner_reply(db, conversation, body.text)
