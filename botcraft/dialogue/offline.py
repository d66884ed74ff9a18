"""The offline responder: answers from the agent's own documents when no LLM is available.

A real default, not a stub: it returns the best matching passages with their sources, a
welcome for greetings, and a polite hand-over to a person when nothing matches.
"""

from __future__ import annotations

from collections.abc import Sequence

from botcraft.knowledge.analyzer import analyze, query_terms
from botcraft.knowledge.search import Hit

_MAX_PASSAGES = 2
_MAX_CHARS = 700


def relevant(question: str, hits: Sequence[Hit]) -> list[Hit]:
    """Hits that share enough of the question's words to be about it.

    BM25 over an OR query ranks anything that shares one word; for answering without a
    model we also want the passage to cover the question: half its terms (one of one or
    two), or the passage carries an exact code or number the question asked for.
    """
    terms = set(query_terms(question))
    if not terms:
        return []
    needed = 1 if len(terms) <= 2 else (len(terms) + 1) // 2
    chosen = []
    for hit in hits:
        found = terms & set(analyze(hit.text))
        if len(found) >= needed or any(any(ch.isdigit() for ch in t) and len(t) > 2 for t in found):
            chosen.append(hit)
    return chosen


def _trim(text: str) -> str:
    text = text.strip()
    return text if len(text) <= _MAX_CHARS else text[: _MAX_CHARS].rsplit(" ", 1)[0] + "…"


def answer(hits: Sequence[Hit], language: str) -> str | None:
    """The reply built from the best passages, or None when nothing is relevant."""
    if not hits:
        return None
    best = hits[:_MAX_PASSAGES]
    if language == "ru":
        lines = ["Вот что я нашёл в наших материалах:"]
        source_word = "Источник"
    else:
        lines = ["Here is what I found in our materials:"]
        source_word = "Source"
    for hit in best:
        lines.append(f"\n{_trim(hit.text)}\n({source_word}: {hit.source.label_in(language)})")
    return "\n".join(lines)


def handover(language: str) -> str:
    if language == "ru":
        return ("К сожалению, в наших материалах нет ответа на этот вопрос. "
                "Я передал его сотруднику — он ответит вам здесь.")
    return ("Sorry, our materials don't answer this question. "
            "I've passed it to a member of staff, who will reply here.")
