"""Search over an agent's chunks: by words and by meaning, fused.

Words: BM25 over the analyzer's stemmed tokens (`chunks.search_text`), ranked in this process
by knowledge.word_index on both databases, so `доставка` finds `доставку` and an SKU like
`XL-42` is found the same way.
The question is read at query time against the agent's own vocabulary and synonyms
(botcraft.knowledge.query): its concepts' terms, synonyms and spelling corrections are ORed.
Meaning (EMBEDDINGS=local|openai): the question's vector against the agent's chunk vectors
(knowledge.meaning). The two rankings are fused by reciprocal rank fusion, and every hit says
how it was found. The dialogue engine uses this same function.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import structlog
from sqlalchemy import and_, bindparam, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from botcraft.embeddings.base import EmbeddingError
from botcraft.knowledge import meaning
from botcraft.knowledge.embedding import SPAN_CHARS
from botcraft.knowledge.query import Query, understand
from botcraft.knowledge.vocabulary import Vocabulary, agent_context
from botcraft.language.analyzer import query_terms
from botcraft.language.synonyms import Thesaurus
from botcraft.models import QA_TYPE, Chunk, Document

log = structlog.get_logger("botcraft.knowledge")

# Candidates each way before fusion, and the usual constant of reciprocal rank fusion
# (Cormack et al. 2009): a rank r adds 1/(60 + r), so agreement matters more than one
# ranking's top place.
_POOL = 20
_RRF_K = 60

_LABEL_WORDS = {
    "en": {"page": "p. {}", "sheet": "sheet {}", "row": "row {}", "rows": "rows {}–{}"},
    "ru": {"page": "стр. {}", "sheet": "лист «{}»", "row": "строка {}", "rows": "строки {}–{}"},
}


@dataclass(frozen=True, slots=True)
class Source:
    document_id: int
    filename: str
    page: int | None
    sheet: str | None
    row_start: int | None
    row_end: int | None

    @property
    def label(self) -> str:
        return self.label_in("en")

    def label_in(self, language: str) -> str:
        """Where the passage is, in words for the customer: "прайс.xlsx, лист «Прайс», строка 3"."""
        words = _LABEL_WORDS.get(language, _LABEL_WORDS["en"])
        parts = [self.filename]
        if self.page is not None:
            parts.append(words["page"].format(self.page))
        if self.sheet is not None:
            parts.append(words["sheet"].format(self.sheet))
        if self.row_start is not None:
            single = self.row_end in (None, self.row_start)
            parts.append(words["row" if single else "rows"].format(self.row_start, self.row_end))
        return ", ".join(parts)

    def as_dict(self) -> dict[str, object]:
        return {
            "document_id": self.document_id,
            "filename": self.filename,
            "page": self.page,
            "sheet": self.sheet,
            "row_start": self.row_start,
            "row_end": self.row_end,
            "label": self.label,
        }


@dataclass(frozen=True, slots=True)
class Hit:
    chunk_id: int
    score: float
    text: str
    source: Source
    # How the hit was found: "words" (full text), "meaning" (vectors), or both.
    found_by: tuple[str, ...] = ("words",)
    # Cosine similarity of question and passage when found by meaning, else None.
    similarity: float | None = None
    # Set by search: found by meaning at or above the model's calibrated threshold.
    close_in_meaning: bool = False
    # The chunk's place in its document: fusion finds which span found by meaning holds it.
    ordinal: int | None = None
    # A phrasing of one of the owner's Q&A pairs (knowledge.answers), not a document's text.
    owner_answer: bool = False

    def as_dict(self) -> dict[str, object]:
        return {"chunk_id": self.chunk_id, "score": round(self.score, 4), "text": self.text,
                "source": self.source.as_dict(), "found_by": list(self.found_by),
                "similarity": None if self.similarity is None else round(self.similarity, 4),
                "close_in_meaning": self.close_in_meaning}


# The passages the word index ranked best, read by id. The agent is checked again so that a
# chunk id can never reach another agent's text.
_BY_ID = text(
    """
    SELECT c.id, c.text, c.document_id, d.filename, c.page, c.sheet, c.row_start, c.row_end, c.ordinal,
           d.file_type
    FROM chunks c JOIN documents d ON d.id = c.document_id
    WHERE c.id IN :ids AND c.agent_id = :agent_id
    """
).bindparams(bindparam("ids", expanding=True))


async def prepare(session: AsyncSession, agent_id: int, question: str, *, previous: str | None = None,
                  context: tuple[Vocabulary, Thesaurus] | None = None) -> Query:
    """The question read against the agent's own vocabulary and synonyms (cached per agent).

    `context` is agent_context() already read for another part of the same message."""
    vocabulary, thesaurus = context or await agent_context(session, agent_id)
    return understand(question, thesaurus, vocabulary, previous=previous)


async def search(
    session: AsyncSession, agent_id: int, query: str, *, limit: int = 5, prepared: Query | None = None
) -> list[Hit]:
    """The agent's best passages for the question, by words and (when on) by meaning.

    `prepared` is the same question already read by prepare()."""
    current = meaning.current()
    if current is None or not query.strip():
        return await _word_search(session, agent_id, query, limit=limit, prepared=prepared)
    words = await _word_search(session, agent_id, query, limit=max(limit, _POOL), prepared=prepared)
    try:
        found = await current.find(session, agent_id, query, _POOL)
    except (EmbeddingError, TimeoutError) as exc:
        # The embeddings server is down or slow: answer by words rather than not at all.
        log.warning("meaning_search_unavailable", agent_id=agent_id, error=str(exc))
        return words[:limit]
    return (await _fuse(session, words, found, limit))[:limit]


async def _fuse(session: AsyncSession, words: list[Hit], found: list[meaning.MeaningMatch], limit: int) -> list[Hit]:
    """Reciprocal rank fusion of the word hits and the spans found by meaning; exact for the
    best `limit` (spans found by meaning alone past those are not read)."""
    scores: dict[int, float] = {}
    hits: dict[int, Hit] = {}
    for rank, hit in enumerate(words, start=1):
        scores[hit.chunk_id] = 1.0 / (_RRF_K + rank)
        hits[hit.chunk_id] = hit
    unmatched: list[tuple[int, meaning.MeaningMatch]] = []
    for rank, match in enumerate(found, start=1):
        span = match.span
        inside = [h for h in words if h.source.document_id == span.document_id and h.ordinal is not None
                  and span.ordinal_start <= h.ordinal <= span.ordinal_end]
        if not inside:
            unmatched.append((rank, match))
            continue
        for i, hit in enumerate(inside):
            if "meaning" in hits[hit.chunk_id].found_by:
                continue
            hits[hit.chunk_id] = replace(hits[hit.chunk_id], found_by=("words", "meaning"),
                                         similarity=span.similarity, close_in_meaning=match.close)
            if i == 0:  # one span counts once, for the best word hit inside it
                scores[hit.chunk_id] += 1.0 / (_RRF_K + rank)
    # Spans found by meaning alone score 1/(60 + rank): past the first `limit` of them none
    # can reach the top `limit`, so only those are read, in one query.
    unmatched = unmatched[:limit]
    span_hits = await _span_hits(session, [m for _, m in unmatched])
    for (rank, _), span_hit in zip(unmatched, span_hits, strict=True):
        if span_hit is None or span_hit.chunk_id in hits:
            continue
        hits[span_hit.chunk_id] = span_hit
        scores[span_hit.chunk_id] = 1.0 / (_RRF_K + rank)
    ordered = sorted(hits, key=lambda chunk_id: -scores[chunk_id])
    return [replace(hits[c], score=scores[c]) for c in ordered]


async def _span_hits(session: AsyncSession, matches: list[meaning.MeaningMatch]) -> list[Hit | None]:
    """The passages of spans found by meaning: each its chunk, or its run of rows as one passage."""
    if not matches:
        return []
    rows = (await session.execute(
        select(Chunk.document_id, Chunk.ordinal, Chunk.id, Chunk.text, Chunk.page, Chunk.sheet, Chunk.row_start,
               Chunk.row_end, Document.filename, Document.file_type)
        .join(Document, Document.id == Chunk.document_id)
        .where(or_(*(and_(Chunk.document_id == m.span.document_id, Chunk.ordinal >= m.span.ordinal_start,
                          Chunk.ordinal <= m.span.ordinal_end) for m in matches)))
        .order_by(Chunk.document_id, Chunk.ordinal)
    )).all()
    return [_span_hit(m, [r for r in rows if r[0] == m.span.document_id
                          and m.span.ordinal_start <= r[1] <= m.span.ordinal_end]) for m in matches]


def _span_hit(match: meaning.MeaningMatch, rows: list[Any]) -> Hit | None:
    span = match.span
    if not rows:
        return None  # deleted or reprocessed since the index was read
    # A run of rows is quoted as far as its vector read it (embedding.SPAN_CHARS).
    seen: list[Any] = []
    length = 0
    for row in rows:
        if seen and length + len(row[3]) > SPAN_CHARS:
            break
        seen.append(row)
        length += len(row[3]) + 1
    first, last = seen[0], seen[-1]
    return Hit(
        chunk_id=first[2],
        score=0.0,
        text="\n".join(r[3] for r in seen),
        source=Source(document_id=span.document_id, filename=first[8], page=first[4], sheet=first[5],
                      row_start=first[6], row_end=last[7] if last[5] == first[5] else first[7]),
        found_by=("meaning",),
        similarity=span.similarity,
        close_in_meaning=match.close,
        ordinal=first[1],
        owner_answer=first[9] == QA_TYPE,
    )


async def _word_search(
    session: AsyncSession, agent_id: int, query: str, *, limit: int, prepared: Query | None = None
) -> list[Hit]:
    if prepared is None:
        prepared = await prepare(session, agent_id, query)
    vocabulary = prepared.vocabulary or (await agent_context(session, agent_id))[0]
    # A question of question words only ("как где") still searches for what it says.
    ranked = vocabulary.words.top(prepared.search_terms() or query_terms(query), limit)
    if not ranked:
        return []
    # The rows are kept with the vocabulary they were ranked in: a question in parts, and the
    # next customer asking the same, read them once.
    kept = vocabulary.rows
    rows = {chunk_id: kept[chunk_id] for chunk_id, _ in ranked if chunk_id in kept}
    unread = [chunk_id for chunk_id, _ in ranked if chunk_id not in rows]
    if unread:
        read = {row[0]: row for row in await session.execute(_BY_ID, {"ids": unread, "agent_id": agent_id})}
        rows.update(read)
        vocabulary.keep_rows(read)
    return [
        Hit(
            chunk_id=chunk_id,
            score=score,
            text=row[1],
            source=Source(document_id=row[2], filename=row[3], page=row[4], sheet=row[5],
                          row_start=row[6], row_end=row[7]),
            ordinal=row[8],
            owner_answer=row[9] == QA_TYPE,
        )
        for chunk_id, score in ranked
        if (row := rows.get(chunk_id)) is not None  # gone since the index was read
    ]
