"""An agent's own vocabulary (the terms its documents contain, with how many chunks hold each,
and the BM25 index over them: knowledge.word_index), and its synonyms: what a question is read
against and searched in.

Read once per agent and kept in memory until its documents or synonyms change: every search
makes one cheap check (document count, newest processing time and id, the synonyms) and reads
the agent's `chunks.search_text` again only when that changed, on both databases. The check
can be read with a caller's own row instead (`version_columns()`: the inbound message's job
reads it with its event), and passed in. The agents searched last are kept, at most
_CACHED_AGENTS of them and _INDEX_BYTES of indexes. The passages found are kept with the
vocabulary they were found in (`Vocabulary.rows`), so a popular answer is not read again.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz.distance import DamerauLevenshtein
from rapidfuzz.process import extract
from sqlalchemy import ColumnElement, Label, bindparam, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from botcraft.knowledge.word_index import WordIndex, WordIndexBuilder
from botcraft.language.synonyms import Thesaurus, thesaurus
from botcraft.models import Agent, Document, table_of

_CACHED_AGENTS = 32
# About 8 bytes per (term, chunk) pair: 100,000 price-list rows take some 10 MB.
_INDEX_BYTES = 256 * 1024 * 1024
# Passages kept per vocabulary (each a chunk row of a few hundred characters).
_CACHED_ROWS = 1024
_AGENTS, _DOCUMENTS = table_of(Agent), table_of(Document)


def version_columns(agent_id: ColumnElement[int]) -> tuple[Label[object], ...]:
    """What tells that an agent's vocabulary changed (its synonyms, the count, newest processing
    time and newest id of its documents), as columns a caller can read with its own row."""
    of_agent = _DOCUMENTS.c.agent_id == agent_id
    # The caller's own row may be the agent's: its synonyms are still read from their own FROM.
    synonyms = select(_AGENTS.c.synonyms).where(_AGENTS.c.id == agent_id).correlate_except(_AGENTS)
    return (
        synonyms.scalar_subquery().label("knowledge_synonyms"),
        select(func.count()).where(of_agent).scalar_subquery().label("knowledge_documents"),
        select(func.max(_DOCUMENTS.c.processed_at)).where(of_agent).scalar_subquery().label("knowledge_processed"),
        select(func.max(_DOCUMENTS.c.id)).where(of_agent).scalar_subquery().label("knowledge_newest"),
    )


_VERSION_COLUMNS = version_columns(bindparam("agent_id"))
_VERSION = select(*_VERSION_COLUMNS)


def version_of(row: Any) -> tuple[str, ...]:
    """The version in the mapping of a row read with version_columns(): its first item is the
    agent's synonyms as written (agent_context builds the thesaurus from it)."""
    synonyms, *documents = (row[column.name] for column in _VERSION_COLUMNS)
    return (str(synonyms or ""), *(str(value) for value in documents))


_TERMS = text("SELECT id, search_text FROM chunks WHERE agent_id = :agent_id ORDER BY id")


@dataclass
class Vocabulary:
    # The agent's BM25 index: its terms and how many chunks hold each are read from it.
    words: WordIndex
    # The passages read by id from this version of the agent's documents (knowledge.search).
    rows: dict[int, Any] = field(default_factory=dict, repr=False)
    _by_first_letter: dict[str, list[str]] = field(default_factory=dict, repr=False)

    def keep_rows(self, rows: dict[int, Any]) -> None:
        """Keep passages read from this version of the documents (at most _CACHED_ROWS)."""
        if len(self.rows) + len(rows) > _CACHED_ROWS:
            self.rows.clear()
        self.rows.update(rows)

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


_cache: OrderedDict[int, tuple[tuple[str, ...], Vocabulary, Thesaurus]] = OrderedDict()
_locks: dict[int, asyncio.Lock] = {}


async def agent_context(session: AsyncSession, agent_id: int, *, version: tuple[str, ...] | None = None
                        ) -> tuple[Vocabulary, Thesaurus]:
    """The agent's vocabulary and thesaurus, read again only after its documents changed.

    `version` is version_of() a row the caller read in this transaction's snapshot or just before."""
    if version is None:
        # Scalar subqueries without a FROM: always exactly one row.
        version = version_of((await session.execute(_VERSION, {"agent_id": agent_id})).mappings().one())
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
        _cache[agent_id] = (version, vocabulary, thesaurus(version[0]))
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
