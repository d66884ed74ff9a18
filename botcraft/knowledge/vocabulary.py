"""An agent's own vocabulary (the terms its documents contain, with how many chunks hold each),
and its synonyms: what a question is read against at query time.

Read once per agent and kept in memory until its documents or synonyms change: every search
makes one cheap check (document count, newest processing time, the synonyms text) and reads
the vocabulary again only when that changed. SQLite reads the agent's indexed terms from
`chunks.search_text`; PostgreSQL asks `ts_stat` over the agent's tsvectors.
"""

from __future__ import annotations

import asyncio
from collections import Counter, OrderedDict
from dataclasses import dataclass, field

from rapidfuzz.distance import DamerauLevenshtein
from rapidfuzz.process import extract
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from botcraft.language.synonyms import Thesaurus, thesaurus

_CACHED_AGENTS = 32
_VERSION = text(
    """
    SELECT a.synonyms,
           (SELECT count(*) FROM documents d WHERE d.agent_id = a.id),
           (SELECT max(d.processed_at) FROM documents d WHERE d.agent_id = a.id),
           (SELECT max(d.id) FROM documents d WHERE d.agent_id = a.id)
    FROM ai_agents a WHERE a.id = :agent_id
    """
)
_SQLITE_TERMS = text("SELECT search_text FROM chunks WHERE agent_id = :agent_id")


@dataclass
class Vocabulary:
    document_frequency: dict[str, int]
    chunks: int
    _by_first_letter: dict[str, list[str]] = field(default_factory=dict, repr=False)

    def knows(self, term: str) -> bool:
        return term in self.document_frequency

    def frequency(self, term: str) -> int:
        return self.document_frequency.get(term, 0)

    def correct(self, term: str, *, max_distance: int) -> str | None:
        """The agent's own term nearest to a misspelt one (ties: the more common), or None.

        Only the agent's vocabulary is searched, never a general dictionary: "маникур"
        becomes "маникюр" for a salon whose price list has it, and nothing for a shop.
        """
        if not self._by_first_letter:
            for known in self.document_frequency:
                if known.isalpha() and len(known) >= 3:
                    self._by_first_letter.setdefault(known[0], []).append(known)
        # A misspelling rarely starts with a wrong letter: only words sharing the first are compared.
        candidates = self._by_first_letter.get(term[0], [])
        matches = extract(term, candidates, scorer=DamerauLevenshtein.distance,
                          score_cutoff=max_distance, limit=5)
        if not matches:
            return None
        return min(matches, key=lambda m: (m[1], -self.frequency(m[0])))[0]


_cache: OrderedDict[int, tuple[tuple[object, ...], Vocabulary, Thesaurus]] = OrderedDict()
_locks: dict[int, asyncio.Lock] = {}


async def agent_context(session: AsyncSession, agent_id: int) -> tuple[Vocabulary, Thesaurus]:
    """The agent's vocabulary and thesaurus, read again only after its documents changed."""
    row = (await session.execute(_VERSION, {"agent_id": agent_id})).first()
    version: tuple[object, ...] = tuple(str(v) for v in row) if row else ()
    cached = _cache.get(agent_id)
    if cached is not None and cached[0] == version:
        _cache.move_to_end(agent_id)
        return cached[1], cached[2]
    lock = _locks.setdefault(agent_id, asyncio.Lock())
    async with lock:  # one reader per agent; the others wait for its result
        cached = _cache.get(agent_id)
        if cached is not None and cached[0] == version:
            return cached[1], cached[2]
        vocabulary = await _read(session, agent_id)
        owner_lines = str(row[0] or "") if row else ""
        _cache[agent_id] = (version, vocabulary, thesaurus(owner_lines))
        _cache.move_to_end(agent_id)
        while len(_cache) > _CACHED_AGENTS:
            _cache.popitem(last=False)
        return vocabulary, _cache[agent_id][2]


async def _read(session: AsyncSession, agent_id: int) -> Vocabulary:
    if session.get_bind().dialect.name == "sqlite":
        counts: Counter[str] = Counter()
        chunks = 0
        result = await session.stream(_SQLITE_TERMS, {"agent_id": agent_id})
        async for partition in result.partitions(2000):
            for (search_text,) in partition:
                counts.update(set(search_text.split()))
            chunks += len(partition)
        return Vocabulary(dict(counts), chunks)
    # ts_stat takes the query as text; the agent id is an int, so nothing user-given is formatted in.
    inner = f"SELECT search_tsv FROM chunks WHERE agent_id = {int(agent_id)}"  # noqa: S608
    rows = (await session.execute(text("SELECT word, ndoc FROM ts_stat(:inner)"), {"inner": inner})).all()
    total = await session.scalar(text("SELECT count(*) FROM chunks WHERE agent_id = :agent_id"),
                                 {"agent_id": agent_id})
    return Vocabulary({word: int(ndoc) for word, ndoc in rows}, int(total or 0))
