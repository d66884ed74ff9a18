"""Language models behind one small interface (see :mod:`botcraft.llm.base`).

Owns no table. May import: the core only (config, errors).
"""

from botcraft.llm.base import (
    ChatMessage,
    Completion,
    LLMError,
    LLMProvider,
    LLMUnavailable,
    StreamEvent,
    TextDelta,
)
from botcraft.llm.openai_compat import OpenAICompatProvider, aclose_clients

__all__ = [
    "ChatMessage",
    "Completion",
    "LLMError",
    "LLMProvider",
    "LLMUnavailable",
    "OpenAICompatProvider",
    "StreamEvent",
    "TextDelta",
    "aclose_clients",
]
