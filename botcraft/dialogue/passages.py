"""The search step of a turn: which passages answer the question, part by part.

A follow-up is searched with the previous question (botcraft.dialogue.followup); a
two-part question ("Сколько стоит латте и круассан?") is also searched part by part, the
later parts inheriting what kind of answer the first asks for; an overview question
("Какие у вас цены?") also gets the first rows of the price list and how many there are.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from botcraft.dialogue import followup
from botcraft.dialogue.prompting import HistoryItem
from botcraft.knowledge.query import Query, inherit_kinds, understand
from botcraft.knowledge.search import Hit, Source, prepare, search
from botcraft.knowledge.vocabulary import agent_context
from botcraft.language.analyzer import analyze
from botcraft.language.synonyms import thesaurus

OVERVIEW_ROWS = 5
_PARTS = re.compile(r"\?\s+|\s+и\s+|\s+а также\s+|,\s+а\s+|;\s+|\s+and\s+|\s+also\s+", re.IGNORECASE)
_OVERVIEW = re.compile(
    r"\b(цены|цен|расценк\w*|прайс\w*|меню|ассортимент\w*|каталог\w*|услуги|позиции|что (у вас )?есть|"
    r"что (можно )?(заказать|купить)|price list|prices|menu|what do you (have|sell|offer)|services)\b",
    re.IGNORECASE,
)
_OVERVIEW_TERMS = frozenset(analyze("цена цены прайс меню ассортимент каталог услуга услуги позиция товар "
                                    "price prices menu service services list"))
_ROWS = text(
    """
    SELECT c.id, c.text, c.document_id, d.filename, c.page, c.sheet, c.row_start, c.row_end
    FROM chunks c JOIN documents d ON d.id = c.document_id
    WHERE c.agent_id = :agent_id AND c.sheet IS NOT NULL
    ORDER BY c.document_id, c.ordinal
    LIMIT :limit
    """
)
_ROW_COUNT = text("SELECT count(*) FROM chunks WHERE agent_id = :agent_id AND sheet IS NOT NULL")


@dataclass
class Part:
    query: Query
    hits: list[Hit]


@dataclass
class Overview:
    rows: list[Hit]
    total: int


@dataclass
class Found:
    question: str  # what was searched: the message, or the follow-up made standalone
    parts: list[Part]  # the whole question first, then each of its parts when it has several
    overview: Overview | None = None
    hits: list[Hit] = field(default_factory=list)  # every distinct hit, best first (for the LLM)


def split_parts(question: str) -> list[str]:
    pieces = [p.strip(" ,.?!") for p in _PARTS.split(question)]
    return [p for p in pieces if p]


def is_overview(question: str, query: Query) -> bool:
    """"Какие у вас цены?", "что есть?", "меню": asks for the list, not for one item."""
    if not _OVERVIEW.search(question):
        return False
    return all(c.kind or c.terms & _OVERVIEW_TERMS for c in query.concepts if c.current and c.thing)


async def find(
    session: AsyncSession, agent_id: int, message: str, history: Sequence[HistoryItem], *,
    limit: int = 5, rewrite: followup.Model | None = None, language: str = "ru",
    knowledge_version: tuple[str, ...] | None = None,
) -> Found:
    """The passages for a customer's message (and for each of its parts). `knowledge_version`:
    the agent's vocabulary version already read (knowledge.vocabulary.version_columns())."""
    previous = followup.previous_question(message, history)
    question = message
    if previous and rewrite is not None:
        question, previous = await followup.standalone(rewrite, message, previous, language), None
    # Once for the whole message and its parts.
    context = await agent_context(session, agent_id, version=knowledge_version)
    whole = await prepare(session, agent_id, question, previous=previous, context=context)
    searched = f"{previous} {question}" if previous else question
    parts = [Part(whole, await search(session, agent_id, searched, limit=limit, prepared=whole))]
    pieces = split_parts(question) if previous is None else []
    if len(pieces) > 1:
        first: Query | None = None
        for piece in pieces:
            query = await prepare(session, agent_id, piece, context=context)
            query = query if first is None else inherit_kinds(query, first)
            first = first or query
            if query.concepts:
                parts.append(Part(query, await search(session, agent_id, piece, limit=3, prepared=query)))
    overview = None
    if is_overview(question, whole):
        rows = [_row_hit(row) for row in (await session.execute(
            _ROWS, {"agent_id": agent_id, "limit": OVERVIEW_ROWS})).all()]
        if rows:
            # One sheet's items read as a list; the rest is counted ("и ещё 12 позиций").
            rows = [row for row in rows if row.source.sheet == rows[0].source.sheet]
            total = int(await session.scalar(_ROW_COUNT, {"agent_id": agent_id}) or 0)
            overview = Overview(rows, total)
    return _found(searched, parts, overview)


def without_search(message: str, history: Sequence[HistoryItem], hits: list[Hit]) -> Found:
    """The same reading of the question from hits found elsewhere (no vocabulary, no overview)."""
    previous = followup.previous_question(message, history)
    whole = understand(message, thesaurus(), None, previous=previous)
    parts = [Part(whole, hits)]
    pieces = split_parts(message) if previous is None else []
    if len(pieces) > 1:
        first = understand(pieces[0], thesaurus())
        parts += [Part(first if i == 0 else inherit_kinds(understand(p, thesaurus()), first), hits)
                  for i, p in enumerate(pieces)]
    return _found(f"{previous} {message}" if previous else message, parts, None)


def _found(question: str, parts: list[Part], overview: Overview | None) -> Found:
    seen: dict[int, Hit] = {}
    for part in parts:
        for hit in part.hits:
            seen.setdefault(hit.chunk_id, hit)
    return Found(question, parts, overview, list(seen.values()))


def _row_hit(row: Sequence[object]) -> Hit:
    def number(value: object) -> int | None:
        return int(value) if isinstance(value, int) else None

    return Hit(chunk_id=int(str(row[0])), score=0.0, text=str(row[1]),
               source=Source(document_id=int(str(row[2])), filename=str(row[3]), page=number(row[4]),
                             sheet=str(row[5]) if row[5] is not None else None,
                             row_start=number(row[6]), row_end=number(row[7])))
