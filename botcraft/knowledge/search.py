"""Full-text search over an agent's chunks: BM25 on SQLite FTS5, ranked tsvector on PostgreSQL.

Both engines index the analyzer's stemmed tokens, so `доставка` finds `доставку` and an SKU
like `XL-42` is found the same way on either. The question is read at query time against
the agent's own vocabulary and synonyms (botcraft.knowledge.query): its concepts' terms,
synonyms and spelling corrections are ORed. The dialogue engine uses this same function.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from botcraft.knowledge.analyzer import fts5_match, query_terms, tsquery
from botcraft.knowledge.query import Query, understand
from botcraft.knowledge.vocabulary import agent_context

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

    def as_dict(self) -> dict[str, object]:
        return {"chunk_id": self.chunk_id, "score": round(self.score, 4), "text": self.text,
                "source": self.source.as_dict()}


_COLUMNS = "c.id, f.score, c.text, c.document_id, d.filename, c.page, c.sheet, c.row_start, c.row_end"

# Fast path: FTS5 ranks inside its own index and only the best rows are joined. Joining
# every match first (to filter by agent) costs a row lookup per match, which is most of
# the time for common words. The oversample leaves room for other agents' chunks.
# _COLUMNS is a constant and every value a bound parameter: nothing user-given is formatted in.
_SQLITE_TOP = text(
    f"""
    SELECT {_COLUMNS}
    FROM (SELECT rowid, -bm25(chunks_fts) AS score FROM chunks_fts
          WHERE chunks_fts MATCH :match ORDER BY bm25(chunks_fts) LIMIT :oversample) AS f
    JOIN chunks c ON c.id = f.rowid
    JOIN documents d ON d.id = c.document_id
    WHERE c.agent_id = :agent_id
    ORDER BY f.score DESC
    LIMIT :limit
    """  # noqa: S608
)

# Exact: when other agents' chunks crowded the oversample out.
_SQLITE_EXACT = text(
    f"""
    SELECT {_COLUMNS}
    FROM (SELECT rowid, -bm25(chunks_fts) AS score FROM chunks_fts WHERE chunks_fts MATCH :match) AS f
    JOIN chunks c ON c.id = f.rowid
    JOIN documents d ON d.id = c.document_id
    WHERE c.agent_id = :agent_id
    ORDER BY f.score DESC
    LIMIT :limit
    """  # noqa: S608
)

_POSTGRES = text(
    """
    SELECT c.id, ts_rank(c.search_tsv, q, 1) AS score, c.text, c.document_id, d.filename,
           c.page, c.sheet, c.row_start, c.row_end
    FROM chunks c
    JOIN documents d ON d.id = c.document_id,
         to_tsquery('simple', :match) AS q
    WHERE c.agent_id = :agent_id AND c.search_tsv @@ q
    ORDER BY score DESC, c.id
    LIMIT :limit
    """
)


async def prepare(session: AsyncSession, agent_id: int, question: str, *, previous: str | None = None) -> Query:
    """The question read against the agent's own vocabulary and synonyms (cached per agent)."""
    vocabulary, thesaurus = await agent_context(session, agent_id)
    return understand(question, thesaurus, vocabulary, previous=previous)


async def search(
    session: AsyncSession, agent_id: int, query: str, *, limit: int = 5, prepared: Query | None = None
) -> list[Hit]:
    """The agent's best chunks for `query`; `prepared` is the same question already read by prepare()."""
    if prepared is None:
        prepared = await prepare(session, agent_id, query)
    # A question of question words only ("как где") still searches for what it says.
    terms = prepared.search_terms() or query_terms(query)
    if not terms:
        return []
    params: dict[str, int | str] = {"agent_id": agent_id, "limit": limit}
    if session.get_bind().dialect.name == "sqlite":
        params |= {"match": fts5_match(terms), "oversample": limit * 20}
        rows = (await session.execute(_SQLITE_TOP, params)).all()
        if len(rows) < limit:
            rows = (await session.execute(_SQLITE_EXACT, params)).all()
    else:
        params["match"] = tsquery(terms)
        rows = (await session.execute(_POSTGRES, params)).all()
    return [
        Hit(
            chunk_id=row[0],
            score=float(row[1]),
            text=row[2],
            source=Source(document_id=row[3], filename=row[4], page=row[5], sheet=row[6],
                          row_start=row[7], row_end=row[8]),
        )
        for row in rows
    ]
