"""What the owner learns from the conversations: the questions left to them, and how it goes.

Test chats (the owner's playground) are not customers and count nowhere here.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from botcraft.models import Agent, Conversation, Message, OwnerAnswer, utcnow
from botcraft.owner.grouping import group, similar, terms_of
from botcraft.owner.schemas import (
    ChannelStats,
    DayStats,
    StatsOut,
    TopQuestion,
    UnansweredGroup,
    UnansweredOut,
    WaitingCustomer,
)

# The newest questions considered: plenty for a small business, bounded for a big one.
_MAX_QUESTIONS = 5000
_TOP = 5
_BOT_FAILED = ("handover", "failure")


async def unanswered(session: AsyncSession, agent: Agent, *, days: int) -> UnansweredOut:
    since = utcnow() - timedelta(days=days)
    rows = (await session.execute(
        select(Message.id, Message.text, Message.created_at, Message.conversation_id)
        .where(Message.agent_id == agent.id, Message.direction == "in", Message.handed_over.is_(True),
               Message.channel != "playground", Message.created_at >= since)
        .order_by(Message.id.desc()).limit(_MAX_QUESTIONS))).all()
    pairs = list(await session.scalars(select(OwnerAnswer).where(OwnerAnswer.agent_id == agent.id)))
    pair_terms = [(p, [terms_of(q) for q in p.questions]) for p in pairs]
    conversation_ids = {r.conversation_id for r in rows}
    conversations = {c.id: c for c in await session.scalars(
        select(Conversation).where(Conversation.id.in_(conversation_ids)))} if conversation_ids else {}
    answered_after = await _owner_replies(session, conversation_ids)

    groups = []
    for g in group((r, r.text) for r in rows):
        first_asked = min(r.created_at for r in g.items)
        saved = next((p for p, terms in pair_terms
                      if max(p.created_at, p.updated_at) >= first_asked and any(similar(g.terms, t) for t in terms)),
                     None)
        waiting: dict[int, WaitingCustomer] = {}
        for r in g.items:
            conversation = conversations.get(r.conversation_id)
            replied = any(at > r.created_at for at in answered_after.get(r.conversation_id, []))
            if conversation is not None and conversation.needs_attention and not conversation.blocked and not replied:
                waiting[conversation.id] = WaitingCustomer(conversation_id=conversation.id,
                                                           customer_name=conversation.customer_name,
                                                           channel=conversation.channel)
        groups.append(UnansweredGroup(
            question=g.texts[0], phrasings=g.texts[:5], count=len(g.items),
            last_asked_at=max(r.created_at for r in g.items), answer_id=saved.id if saved else None,
            waiting=list(waiting.values()), message_ids=[r.id for r in g.items]))
    # Still-open questions first, then the most asked.
    groups.sort(key=lambda g: (g.answer_id is not None, -g.count, -g.last_asked_at.timestamp()))
    return UnansweredOut(groups=groups, total=len(rows))


async def _owner_replies(session: AsyncSession, conversation_ids: set[int]) -> dict[int, list[datetime]]:
    if not conversation_ids:
        return {}
    replies: dict[int, list[datetime]] = defaultdict(list)
    for conversation_id, at in (await session.execute(
            select(Message.conversation_id, Message.created_at)
            .where(Message.conversation_id.in_(conversation_ids), Message.author == "owner"))).all():
        replies[conversation_id].append(at)
    return replies


def _day(at: datetime) -> str:
    return at.date().isoformat()


@dataclass
class _Tally:
    conversations: set[int] = field(default_factory=set)
    messages: int = 0
    bot: int = 0
    handed: int = 0
    owner: int = 0


async def stats(session: AsyncSession, agent: Agent, *, days: int) -> StatsOut:
    now = utcnow()
    since = (now - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    base = (Message.agent_id == agent.id) & (Message.channel != "playground") & (Message.created_at >= since)
    inbound = (await session.execute(
        select(Message.id, Message.conversation_id, Message.channel, Message.created_at, Message.handed_over,
               Message.text).where(base, Message.direction == "in").order_by(Message.id.desc()))).all()
    outbound = (await session.execute(
        select(Message.conversation_id, Message.author, Message.created_at, Message.answered_by,
               Message.reply_to_id).where(base, Message.direction == "out"))).all()

    bot_answered = {o.reply_to_id for o in outbound
                    if o.author == "bot" and o.reply_to_id is not None and o.answered_by not in _BOT_FAILED}
    owner_times: dict[int, list[datetime]] = defaultdict(list)
    for o in outbound:
        if o.author == "owner":
            owner_times[o.conversation_id].append(o.created_at)

    per_day = {_day(since + timedelta(days=i)): _Tally() for i in range(days)}
    channels: dict[str, _Tally] = defaultdict(_Tally)
    total = _Tally()
    delays: list[float] = []
    for m in inbound:
        tallies = [total, channels[m.channel]] + ([per_day[_day(m.created_at)]] if _day(m.created_at) in per_day
                                                  else [])
        for t in tallies:
            t.conversations.add(m.conversation_id)
            t.messages += 1
        if m.handed_over:
            later = [at for at in owner_times.get(m.conversation_id, []) if at >= m.created_at]
            if later:
                delays.append((min(later) - m.created_at).total_seconds())
            for t in tallies:
                t.handed += 1
                t.owner += bool(later)
        elif m.id in bot_answered:
            for t in tallies:
                t.bot += 1

    top = [TopQuestion(question=g.texts[0], count=len(g.items))
           for g in group((m.id, m.text) for m in inbound[:_MAX_QUESTIONS])]
    top.sort(key=lambda t: -t.count)
    return StatsOut(
        days=days, since=since, conversations=len(total.conversations), customer_messages=total.messages,
        answered_by_bot=total.bot, handed_over=total.handed, answered_by_owner=total.owner,
        median_owner_reply_seconds=round(statistics.median(delays), 1) if delays else None,
        per_day=[DayStats(date=d, conversations=len(t.conversations), customer_messages=t.messages,
                          answered_by_bot=t.bot, handed_over=t.handed, answered_by_owner=t.owner)
                 for d, t in per_day.items()],
        by_channel=[ChannelStats(channel=name, conversations=len(t.conversations), customer_messages=t.messages,
                                 handed_over=t.handed) for name, t in sorted(channels.items())],
        top_questions=top[:_TOP],
    )
