"""The owner's Q&A pairs: part of the agent's knowledge, searched like documents, preferred when they match.

A pair is indexed as a hidden document of type "qa" with one chunk per phrasing of the
question, so full-text search (and whatever else ranks chunks) finds pairs exactly as it
finds documents. `matching_answer` is the one extra step: when a found pair was asked in
(nearly) the same words, the owner's answer is what the bot says, verbatim.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from botcraft.errors import Conflict, NotFound
from botcraft.knowledge.search import Hit
from botcraft.language.analyzer import index_text, query_terms
from botcraft.models import QA_TYPE, Agent, Chunk, Document, OwnerAnswer, utcnow

MAX_ANSWERS_PER_AGENT = 1000
_LABELS = {"ru": "Частые вопросы", "en": "FAQ"}


def clean_questions(questions: Sequence[str]) -> list[str]:
    """Trimmed, non-empty, each phrasing once (case-insensitively), in the given order."""
    seen: set[str] = set()
    kept = []
    for q in questions:
        q = " ".join(q.split())
        if q and q.casefold() not in seen:
            seen.add(q.casefold())
            kept.append(q)
    return kept


async def list_answers(session: AsyncSession, agent: Agent) -> list[OwnerAnswer]:
    return list(await session.scalars(
        select(OwnerAnswer).where(OwnerAnswer.agent_id == agent.id).order_by(OwnerAnswer.id.desc())))


async def get_answer(session: AsyncSession, agent: Agent, answer_id: int) -> OwnerAnswer:
    pair = await session.scalar(select(OwnerAnswer).where(OwnerAnswer.id == answer_id,
                                                          OwnerAnswer.agent_id == agent.id))
    if pair is None:
        raise NotFound("Answer not found.", code="answer_not_found")
    return pair


async def create_answer(session: AsyncSession, agent: Agent, questions: Sequence[str], answer: str,
                        *, conversation_id: int | None = None) -> OwnerAnswer:
    count = await session.scalar(select(func.count()).select_from(OwnerAnswer)
                                 .where(OwnerAnswer.agent_id == agent.id))
    if (count or 0) >= MAX_ANSWERS_PER_AGENT:
        raise Conflict("This agent already has the most saved answers allowed; delete one first.",
                       code="answer_limit_reached", extra={"limit": MAX_ANSWERS_PER_AGENT})
    pair = OwnerAnswer(agent_id=agent.id, questions=clean_questions(questions), answer=answer.strip(),
                       conversation_id=conversation_id)
    session.add(pair)
    await session.flush()
    await _index(session, agent, pair)
    return pair


async def update_answer(session: AsyncSession, agent: Agent, pair: OwnerAnswer, questions: Sequence[str],
                        answer: str) -> OwnerAnswer:
    pair.questions, pair.answer, pair.updated_at = clean_questions(questions), answer.strip(), utcnow()
    await _index(session, agent, pair)
    return pair


async def delete_answer(session: AsyncSession, pair: OwnerAnswer) -> None:
    if pair.document_id is not None:
        await session.execute(delete(Document).where(Document.id == pair.document_id))  # chunks cascade
    await session.delete(pair)


async def _index(session: AsyncSession, agent: Agent, pair: OwnerAnswer) -> None:
    """(Re)write the pair's hidden document and its chunks: one per phrasing, answer included."""
    document = await session.get(Document, pair.document_id) if pair.document_id else None
    if document is None:
        document = Document(agent_id=agent.id, filename=_LABELS.get(agent.language, _LABELS["ru"]), file_path="",
                            file_type=QA_TYPE, size=0, sha256=f"qa-{pair.id}", status="ready", is_processed=True,
                            processed_at=utcnow())
        session.add(document)
        await session.flush()
        pair.document_id = document.id
    await session.execute(delete(Chunk).where(Chunk.document_id == document.id))
    rows = [{"document_id": document.id, "agent_id": agent.id, "ordinal": i, "text": f"{q}\n{pair.answer}",
             "search_text": index_text(f"{q}\n{pair.answer}"), "page": None, "sheet": None,
             "row_start": None, "row_end": None}
            for i, q in enumerate(pair.questions)]
    await session.execute(insert(Chunk), rows)
    # A new processing time tells every process's word index (knowledge.vocabulary) to re-read.
    document.chunk_count, document.size, document.processed_at = len(rows), len(pair.answer.encode()), utcnow()


@dataclass(frozen=True, slots=True)
class MatchedAnswer:
    answer_id: int
    question: str
    text: str
    hit: Hit


def same_question(question: str, phrasing: str) -> float:
    """How nearly `question` asks `phrasing` in other words: 0, or the terms' overlap (Jaccard).

    Most of the customer's words must be in the phrasing and half the phrasing's in the
    question, so a pair about "доставка в область" does not answer every question about prices.
    """
    asked, saved = set(query_terms(question)), set(query_terms(phrasing))
    shared = asked & saved
    if not shared or len(shared) < 0.6 * len(asked) or len(shared) < 0.5 * len(saved):
        return 0.0
    return len(shared) / len(asked | saved)


async def matching_answer(session: AsyncSession, question: str, hits: Sequence[Hit]) -> MatchedAnswer | None:
    """The owner's answer when search found a pair asked in nearly the same words."""
    document_ids = {h.source.document_id for h in hits if h.owner_answer}
    if not document_ids:
        return None  # no pair among the hits: nothing to read
    pairs = {p.document_id: p for p in await session.scalars(
        select(OwnerAnswer).join(Document, Document.id == OwnerAnswer.document_id)
        .where(Document.id.in_(document_ids), Document.file_type == QA_TYPE))}
    best: tuple[float, MatchedAnswer] | None = None
    for hit in hits:
        pair = pairs.get(hit.source.document_id)
        if pair is None:
            continue
        phrasing = hit.text.split("\n", 1)[0]
        score = same_question(question, phrasing)
        if score and (best is None or score > best[0]):
            best = (score, MatchedAnswer(pair.id, phrasing, pair.answer, hit))
    return best[1] if best else None


def prefer(hits: Sequence[Hit], matched: MatchedAnswer | None) -> list[Hit]:
    """The matched pair's passage first, for a model that reads the passages in order."""
    if matched is None:
        return list(hits)
    return [matched.hit] + [h for h in hits if h.chunk_id != matched.hit.chunk_id]
