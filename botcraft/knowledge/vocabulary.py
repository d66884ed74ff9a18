"""An agent's own vocabulary (the terms its documents contain, with how many chunks hold each,
and the BM25 index over them: knowledge.word_index), and its synonyms: what a question is read
against and searched in.

Read once per agent and kept in memory until its documents or synonyms change: every search
makes one cheap check (document count, newest processing time, the synonyms text) and reads
the agent's `chunks.search_text` again only when that changed, on both databases. The
agents searched last are kept, at most _CACHED_AGENTS of them and _INDEX_BYTES of indexes.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass, field

from rapidfuzz.distance import DamerauLevenshtein
from rapidfuzz.process import extract
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from botcraft.knowledge.word_index import WordIndex, WordIndexBuilder
from botcraft.language.synonyms import Thesaurus, thesaurus

_CACHED_AGENTS = 32
# About 8 bytes per (term, chunk) pair: 100,000 price-list rows take some 10 MB.
_INDEX_BYTES = 256 * 1024 * 1024
_VERSION = text(
    """
    SELECT a.synonyms,
           (SELECT count(*) FROM documents d WHERE d.agent_id = a.id),
           (SELECT max(d.processed_at) FROM documents d WHERE d.agent_id = a.id),
           (SELECT max(d.id) FROM documents d WHERE d.agent_id = a.id)
    FROM ai_agents a WHERE a.id = :agent_id
    """
)
_TERMS = text("SELECT id, search_text FROM chunks WHERE agent_id = :agent_id ORDER BY id")


@dataclass
class Vocabulary:
    # The agent's BM25 index: its terms and how many chunks hold each are read from it.
    words: WordIndex
    _by_first_letter: dict[str, list[str]] = field(default_factory=dict, repr=False)

    @property
    def chunks(self) -> int:
        return self.words.size

    def knows(self, term: str) -> bool:
        return term in self.words.terms

    def frequency(self, term: str) -> int:
        return self.words.frequency(term)

    def correct(self, term: str, *, max_distance: int) -> str | None:
        """The agent's own term nearest to a misspelt one (ties: the more common), or None.

        Only the agent's vocabulary is searched, never a general dictionary: "маникур"
        becomes "маникюр" for a salon whose price list has it, and nothing for a shop.
        """
        if not self._by_first_letter:
            for known in self.words.terms:
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
        while len(_cache) > _CACHED_AGENTS or (len(_cache) > 1 and _index_bytes() > _INDEX_BYTES):
            _cache.popitem(last=False)
        return vocabulary, _cache[agent_id][2]


def _index_bytes() -> int:
    return sum(v.words.nbytes for _, v, _ in _cache.values())


async def _read(session: AsyncSession, agent_id: int) -> Vocabulary:
    builder = WordIndexBuilder()
    result = await session.stream(_TERMS, {"agent_id": agent_id})
    async for partition in result.partitions(2000):
        builder.add(partition)
    return Vocabulary(await asyncio.to_thread(builder.build))
