"""Q&A pairs, unanswered questions and statistics of an agent; "Запомнить ответ" in the inbox."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from sqlalchemy import select

from botcraft.agents.service import get_owned
from botcraft.auth.deps import CurrentUser
from botcraft.db import RowId, SessionDep
from botcraft.dialogue import service as dialogue
from botcraft.errors import NotFound
from botcraft.knowledge import answers
from botcraft.models import Agent, Conversation, Message, OwnerAnswer
from botcraft.owner import insights
from botcraft.owner.schemas import AnswerIn, AnswerOut, SendIn, SendOut, StatsOut, UnansweredOut
from botcraft.owner.telegram_updates import question_answered_by

router = APIRouter(tags=["owner"])


async def _conversation_of(db: SessionDep, agent: Agent, conversation_id: int | None) -> int | None:
    if conversation_id is None:
        return None
    found = await db.scalar(select(Conversation.id).where(Conversation.id == conversation_id,
                                                          Conversation.agent_id == agent.id))
    if found is None:
        raise NotFound("Conversation not found.", code="conversation_not_found")
    return found


@router.get("/api/agents/{agent_id}/answers", response_model=list[AnswerOut])
async def list_answers(agent_id: RowId, user: CurrentUser, db: SessionDep) -> list[OwnerAnswer]:
    return await answers.list_answers(db, await get_owned(db, user, agent_id))


@router.post("/api/agents/{agent_id}/answers", response_model=AnswerOut, status_code=status.HTTP_201_CREATED)
async def create_answer(agent_id: RowId, body: AnswerIn, user: CurrentUser, db: SessionDep) -> OwnerAnswer:
    agent = await get_owned(db, user, agent_id, for_update=True)
    conversation_id = await _conversation_of(db, agent, body.conversation_id)
    return await answers.create_answer(db, agent, body.phrasings(), body.answer, conversation_id=conversation_id)


@router.put("/api/agents/{agent_id}/answers/{answer_id}", response_model=AnswerOut)
async def update_answer(agent_id: RowId, answer_id: RowId, body: AnswerIn, user: CurrentUser, db: SessionDep
                        ) -> OwnerAnswer:
    agent = await get_owned(db, user, agent_id)
    pair = await answers.get_answer(db, agent, answer_id)
    return await answers.update_answer(db, agent, pair, body.phrasings(), body.answer)


@router.delete("/api/agents/{agent_id}/answers/{answer_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_answer(agent_id: RowId, answer_id: RowId, user: CurrentUser, db: SessionDep) -> None:
    agent = await get_owned(db, user, agent_id)
    await answers.delete_answer(db, await answers.get_answer(db, agent, answer_id))


@router.post("/api/agents/{agent_id}/answers/{answer_id}/send", response_model=SendOut)
async def send_answer(agent_id: RowId, answer_id: RowId, body: SendIn, user: CurrentUser, db: SessionDep) -> SendOut:
    """The saved answer to customers still waiting for it, as the owner's reply (the one sender)."""
    agent = await get_owned(db, user, agent_id)
    pair = await answers.get_answer(db, agent, answer_id)
    sent, skipped = [], []
    for conversation_id in dict.fromkeys(body.conversation_ids):
        conversation = await db.scalar(select(Conversation).where(Conversation.id == conversation_id,
                                                                  Conversation.agent_id == agent.id))
        if conversation is None or not conversation.needs_attention or conversation.blocked:
            skipped.append(conversation_id)
            continue
        await dialogue.owner_reply(db, conversation, pair.answer)
        sent.append(conversation_id)
    return SendOut(sent=sent, skipped=skipped)


@router.post("/api/conversations/{conversation_id}/messages/{message_id}/remember", response_model=AnswerOut,
             status_code=status.HTTP_201_CREATED)
async def remember_reply(conversation_id: RowId, message_id: RowId, user: CurrentUser, db: SessionDep) -> OwnerAnswer:
    """"Запомнить ответ": the owner's reply and the question it answered become a Q&A pair."""
    conversation = await dialogue.owned_conversation(db, user, conversation_id)
    reply = await db.scalar(select(Message).where(Message.id == message_id, Message.conversation_id == conversation.id,
                                                  Message.author == "owner"))
    if reply is None:
        raise NotFound("Reply not found.", code="message_not_found")
    question = await question_answered_by(db, reply)
    if question is None:
        raise NotFound("No customer question precedes this reply.", code="question_not_found")
    agent = await get_owned(db, user, conversation.agent_id, for_update=True)
    return await answers.create_answer(db, agent, [question.text], reply.text, conversation_id=conversation.id)


@router.get("/api/agents/{agent_id}/unanswered", response_model=UnansweredOut)
async def unanswered(agent_id: RowId, user: CurrentUser, db: SessionDep,
                     days: Annotated[int, Query(ge=1, le=365)] = 30) -> UnansweredOut:
    return await insights.unanswered(db, await get_owned(db, user, agent_id), days=days)


@router.get("/api/agents/{agent_id}/stats", response_model=StatsOut)
async def stats(agent_id: RowId, user: CurrentUser, db: SessionDep,
                days: Annotated[int, Query(ge=1, le=90)] = 7) -> StatsOut:
    return await insights.stats(db, await get_owned(db, user, agent_id), days=days)
