"""Whether a passage is close in meaning to a question, for the model in use.

Raw cosine similarities of small embedding models are compressed and depend on the question:
multilingual-e5-small scores «Где можно оставить машину?» against "бесплатная парковка во
дворе" at 0.82 and «Сделаете татуировку?» against the same salon's payment terms at 0.81.
So the decision compares the passage with the question's own background: its mean similarity
to the three closest of a broad sample of other trades' passages (`background.PASSAGES`).
A passage that answers the question is clearly closer than any other trade's text; for an
out-of-scope question some other trade (a tattoo studio) is closer than the agent's passages.
The margin a model needs (`Profile.min_margin`) is measured on a labelled set.
"""

from __future__ import annotations

import asyncio

import numpy as np

from botcraft.embeddings.background import PASSAGES
from botcraft.embeddings.base import Embedder, Vectors

_TOP = 3
# Per process and model: the background is embedded once (about 90 passages).
_backgrounds: dict[tuple[str, str], Vectors] = {}
_locks: dict[tuple[str, str], asyncio.Lock] = {}


async def background(embedder: Embedder) -> Vectors:
    key = (embedder.mode, embedder.model)
    found = _backgrounds.get(key)
    if found is not None:
        return found
    lock = _locks.setdefault(key, asyncio.Lock())
    async with lock:
        if key not in _backgrounds:
            _backgrounds[key] = await embedder.embed_passages(PASSAGES)
    return _backgrounds[key]


def baseline(question: Vectors, sample: Vectors) -> float:
    """The question's mean similarity to its closest background passages."""
    sims = sample @ question
    top = np.partition(sims, len(sims) - _TOP)[-_TOP:] if len(sims) > _TOP else sims
    return float(top.mean())
