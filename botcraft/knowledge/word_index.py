"""BM25 over one agent's chunks, held in this process: the word half of search.

Built from `chunks.search_text` (the analyzer's terms, space-separated) whenever the agent's
vocabulary is read, and dropped with it (knowledge.vocabulary), so it follows every document
change, from any process, at the next search. Ranking here rather than in the database gives
the same order on SQLite and PostgreSQL, and the best rows of a common word without scoring
every match: at 100,000 chunks FTS5 took 140 ms to rank the 71,000 rows holding "размер", and
tsvector's ts_rank longer (bench/meaning_search.py).

The score is FTS5's bm25(): k1 = 1.2, b = 0.75, idf = ln((N − n + 0.5) / (n + 0.5)) floored at
1e-6, a row's length in terms, over the agent's own chunks.
"""

from __future__ import annotations

from array import array
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

_K1 = 1.2
_B = 0.75
_IDF_FLOOR = 1e-6


@dataclass(frozen=True, slots=True)
class WordIndex:
    chunk_ids: np.ndarray  # row → chunk id, ascending: ties go to the older chunk
    terms: dict[str, int]  # term → its postings, offsets[t]:offsets[t + 1]
    offsets: np.ndarray
    rows: np.ndarray  # each posting's row, ascending within a term
    weights: np.ndarray  # each posting's term-frequency part of bm25
    idf: np.ndarray

    @property
    def size(self) -> int:
        return int(self.chunk_ids.shape[0])

    @property
    def nbytes(self) -> int:
        return sum(int(a.nbytes) for a in (self.chunk_ids, self.offsets, self.rows, self.weights, self.idf))

    def frequency(self, term: str) -> int:
        """How many chunks hold the term."""
        t = self.terms.get(term)
        return 0 if t is None else int(self.offsets[t + 1] - self.offsets[t])

    def top(self, terms: Iterable[str], k: int) -> list[tuple[int, float]]:
        """The k chunks that best match any of the terms, as (chunk id, score), best first."""
        postings = [self.terms[t] for t in dict.fromkeys(terms) if t in self.terms]
        if not postings or k <= 0:
            return []
        if len(postings) == 1:
            t = postings[0]
            start, end = self.offsets[t], self.offsets[t + 1]
            rows, scores = self.rows[start:end], self.weights[start:end] * self.idf[t]
        else:
            total = np.zeros(self.size, dtype=np.float32)
            for t in postings:
                start, end = self.offsets[t], self.offsets[t + 1]
                total[self.rows[start:end]] += self.weights[start:end] * self.idf[t]
            rows = np.flatnonzero(total)  # every posting adds more than zero (idf floor, tf ≥ 1)
            scores = total[rows]
        if rows.shape[0] > k:
            # The k best, ties at the boundary to the lowest rows, so the answer never varies.
            kth = np.partition(scores, rows.shape[0] - k)[rows.shape[0] - k]
            above = np.flatnonzero(scores > kth)
            tied = np.flatnonzero(scores == kth)[: k - above.shape[0]]
            pick = np.concatenate([above, tied])
            rows, scores = rows[pick], scores[pick]
        order = np.lexsort((rows, -scores))
        return list(zip(self.chunk_ids[rows[order]].tolist(), scores[order].astype(float).tolist(), strict=True))


class WordIndexBuilder:
    """Collects (chunk id, search_text) rows, in ascending chunk id, then builds the index."""

    def __init__(self) -> None:
        # A new term gets the next id, so every token's lookup stays in C (map over __getitem__).
        self._term_ids: defaultdict[str, int] = defaultdict()
        self._term_ids.default_factory = self._term_ids.__len__
        self._terms: list[np.ndarray] = []
        self._chunk_ids = array("q")
        self._lengths = array("i")

    def add(self, rows: Iterable[tuple[int, str]]) -> None:
        for chunk_id, search_text in rows:
            tokens = search_text.split()
            self._chunk_ids.append(chunk_id)
            self._lengths.append(len(tokens))
            self._terms.append(np.fromiter(map(self._term_ids.__getitem__, tokens), dtype=np.int32,
                                           count=len(tokens)))

    def build(self) -> WordIndex:
        """The index (numpy's sorts release the GIL: run it in a thread for a large agent)."""
        n = len(self._chunk_ids)
        row_of_token = np.repeat(np.arange(n, dtype=np.int64), np.frombuffer(self._lengths, dtype=np.int32))
        terms = np.concatenate(self._terms) if self._terms else np.zeros(0, dtype=np.int32)
        # One sort of (term, row) pairs gives each term's rows in order and each row's count.
        pairs = terms.astype(np.int64) * max(n, 1) + row_of_token
        pairs, counts = np.unique(pairs, return_counts=True)
        term_of, rows = np.divmod(pairs, max(n, 1))
        offsets = np.searchsorted(term_of, np.arange(len(self._term_ids) + 1))
        lengths = np.frombuffer(self._lengths, dtype=np.int32).astype(np.float32)
        average = float(lengths.mean()) if n and lengths.any() else 1.0
        tf = counts.astype(np.float32)
        weights = tf * (_K1 + 1) / (tf + _K1 * (1 - _B + _B * lengths[rows] / average))
        df = np.diff(offsets).astype(np.float64)
        idf = np.log((n - df + 0.5) / (df + 0.5))
        idf[idf <= 0] = _IDF_FLOOR
        return WordIndex(
            chunk_ids=np.frombuffer(self._chunk_ids, dtype=np.int64).copy(),
            terms=dict(self._term_ids),
            offsets=offsets,
            rows=rows.astype(np.int32),
            weights=weights.astype(np.float32),
            idf=idf.astype(np.float32),
        )
