"""The offline responder: answers from the agent's own documents when no LLM is available.

A real default, not a stub. It decides which passages answer (botcraft.knowledge.query
reads the question; a passage must cover enough of what it asks, and a question about a
thing the documents never mention is not "answered" with an unrelated passage), then says
only what answers: the sentence(s) of a text, or the row(s) of a price list in natural
language (botcraft.dialogue.rows). Two-part questions are answered part by part; overview
questions get a short list. The customer never sees file, sheet or row names: the owner
sees them in the answer's sources.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from botcraft.agents.prompts import detect_language
from botcraft.dialogue import rows
from botcraft.dialogue.passages import Found, Part
from botcraft.i18n import N_
from botcraft.knowledge.query import Query
from botcraft.knowledge.search import Hit
from botcraft.language.analyzer import analyze

ACCEPT = 0.5  # the share of the question (by concept weight) a passage must cover
MEANING_ONLY = 0.49  # a passage close in meaning that covers too little by words: just below ACCEPT
_MAX_ROWS = 3
_MAX_CHARS = 300
_SHORT_SENTENCE = 60
_SENTENCE = re.compile(r"(?<=[.!?…])\s+(?=[«\"(]?[A-ZА-ЯЁ0-9])")


@dataclass
class Reply:
    text: str | None  # None: nothing answers; hand over
    used: list[Hit] = field(default_factory=list)
    reason: str | None = None  # for the owner, when part of the question went unanswered


def coverage(query: Query, terms: set[str] | frozenset[str]) -> tuple[float, float, bool]:
    """(share of the question covered, share of its current message covered, a code matched)."""
    concepts = query.concepts
    if not concepts:
        return 0.0, 0.0, False
    covered = [c for c in concepts if c.terms & terms]
    code = any(any(ch.isdigit() for ch in t) and len(t) > 2 for c in covered if c.current for t in c.terms & terms)
    total = sum(c.weight for c in concepts)
    current = [c for c in concepts if c.current]
    current_total = sum(c.weight for c in current) or 1.0
    share = sum(c.weight for c in covered) / total
    current_share = sum(c.weight for c in covered if c.current) / current_total
    return share, current_share, code


def score(query: Query, hit: Hit) -> float | None:
    """How well the hit answers the question, or None when it does not."""
    terms = hit_terms(hit)
    share, current_share, code = coverage(query, terms)
    coverage_share = share
    if any(not c.current for c in query.concepts):
        # A follow-up: what it asks now decides; the earlier question only breaks ties.
        share = 0.7 * current_share + 0.3 * share
    if query.unknown_things and (query.asks_about_the_unknown or not any(
            c.current and c.specific and c.known and c.terms & terms for c in query.concepts)):
        # "ремонт айфона" at a car service: the passage may be about ремонт, but nothing in the
        # documents is about айфон. ("чизкейка кусочек" still finds the cheesecake: it is named.)
        # This holds for a passage close in meaning too: «Есть солярий?» is close to a salon's
        # manicure row, «алкоголь» to a coffee shop's drinks (bench/retrieval.py, EMBEDDINGS=local).
        return None
    if hit.close_in_meaning and not code and current_share < ACCEPT:
        # Admitted on meaning alone, below any passage that answers by its words as well.
        return MEANING_ONLY
    if hit.close_in_meaning:
        return max(share, ACCEPT)
    if code:
        return max(share, ACCEPT)
    if current_share < ACCEPT:
        return None
    own_thing_found = any(c.current and not c.kind and c.terms & terms for c in query.concepts)
    if coverage_share >= ACCEPT or (own_thing_found and any(not c.current for c in query.concepts)):
        return share
    return None


def hit_terms(hit: Hit) -> frozenset[str]:
    """The passage's terms with its context: a row's sheet name is part of what it says."""
    return _passage_terms(hit.source.sheet, hit.text)


@lru_cache(maxsize=1024)  # as many as an agent's passages kept with its vocabulary (_CACHED_ROWS)
def _passage_terms(sheet: str | None, text: str) -> frozenset[str]:
    # A turn scores every passage search found, and the same passages answer question after
    # question: analysing each once, not once a turn, was ~5% of an answer's CPU with a model.
    # Interned, the terms the passages share are held once: 2.3 KB for a passage of 650
    # characters, not 4.9.
    return frozenset(map(sys.intern, analyze(f"{sheet}\n{text}" if sheet else text)))


def relevant(query: Query, hits: Sequence[Hit]) -> list[Hit]:
    """The hits that answer, best first."""
    # On a tie a price-list row wins over prose: it is where prices and items are stated.
    scored = [(s, rows.parse(hit.text) is not None, -i, hit) for i, hit in enumerate(hits)
              if (s := score(query, hit)) is not None]
    return [hit for *_, hit in sorted(scored, key=lambda x: (x[0], x[1], x[2]), reverse=True)]


def reply(found: Found, language: str) -> Reply:
    whole = found.parts[0]
    if found.overview is not None:
        return _overview(found, language)
    single = _answer_part(whole.query, found.hits, language)
    if len(found.parts) > 1:
        texts: list[str] = []
        used: list[Hit] = []
        missing: list[str] = []
        for part in found.parts[1:]:
            answer = _answer_part(part.query, _candidates(part, found), language)
            if answer is None:
                missing.append(" ".join(c.said for c in part.query.concepts if c.current and not c.kind)
                               or part.query.text)
                continue
            texts += [line for line in answer[0].split("\n") if line not in texts]
            used += [h for h in answer[1] if h not in used]
        if texts and not missing:
            return Reply("\n".join(texts), used)
        if single is not None and _full(whole.query, single[1]):
            return Reply(single[0], single[1])  # one passage answers it all ("стрижка и укладка")
        if texts:
            rest = ", ".join(missing)
            tail = (f"Про «{rest}» в наших материалах ответа нет — передал вопрос сотруднику."
                    if language == "ru" else
                    f"Our materials don't cover “{rest}” — I've passed that to a member of staff.")
            reason = N_("Part of the question went unanswered: {rest}.").format(rest=rest)
            return Reply("\n".join([*texts, tail]), used, reason=reason)
    if single is not None:
        return Reply(single[0], single[1])
    return Reply(None)


def _full(query: Query, used: list[Hit]) -> bool:
    return any(coverage(query, hit_terms(h))[0] >= 0.999 for h in used)


def _candidates(part: Part, found: Found) -> list[Hit]:
    return [*part.hits, *(h for h in found.hits if h not in part.hits)]


def _answer_part(query: Query, hits: Sequence[Hit], language: str) -> tuple[str, list[Hit]] | None:
    chosen = relevant(query, hits)
    if not chosen:
        return None
    best = score(query, chosen[0])
    lines: list[str] = []
    used: list[Hit] = []
    for hit in chosen:
        if score(query, hit) != best or len(used) >= _MAX_ROWS:
            break
        row = rows.format_row(hit.text, language)
        if row is None and used:
            break  # one text passage says enough; several rows may all fit ("стрижка": three kinds)
        line = row if row is not None else extract(query, hit.text, language)
        if line and line not in lines:
            lines.append(line)
            used.append(hit)
        if row is None:
            break
    return ("\n".join(lines), used) if lines else None


def extract(query: Query, text: str, language: str = "ru") -> str:
    """The sentence(s) of a passage that answer: the best covering one, and the answer after a
    question (an FAQ's "Как до вас добраться? От метро 5 минут."), at most about 300 characters."""
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    heading = ""
    if len(lines) > 1 and len(lines[0]) <= 80 and not lines[0].endswith((".", "!", "?", ";")):
        heading = lines.pop(0)
    located = [(n, s.strip()) for n, line in enumerate(lines) for s in _SENTENCE.split(line) if s.strip()]
    units = [unit for _, unit in located]
    if not units:
        return heading
    context = set(analyze(heading))
    # On a tie the sentence in the customer's language wins (an FAQ may say it in both).
    scores = [coverage(query, set(analyze(unit)) | context)[0] + 0.001 * (detect_language(unit) == language)
              for unit in units]
    at = max(range(len(units)), key=lambda i: (scores[i], -i))
    picked = [units[at]]
    if units[at].endswith("?") and at + 1 < len(units):
        picked = [units[at + 1]]  # the question restated is no answer: what follows it is
        at += 1
    # A short sentence may need the next one of its paragraph; a list's next line is another item.
    if len(" ".join(picked)) < _SHORT_SENTENCE and at + 1 < len(units) and not units[at + 1].endswith("?") \
            and located[at + 1][0] == located[at][0]:
        picked.append(units[at + 1])
    answer = " ".join(picked)
    if len(answer) > _MAX_CHARS:
        answer = answer[:_MAX_CHARS].rsplit(" ", 1)[0].rstrip(",;:") + "…"
    return answer


def _overview(found: Found, language: str) -> Reply:
    assert found.overview is not None
    shown = found.overview.rows
    items = [rows.format_row(hit.text, language) or extract(found.parts[0].query, hit.text, language) for hit in shown]
    more = max(found.overview.total - len(shown), 0)
    if language == "ru":
        lines = ["Вот что у нас есть:", *(f"• {item}" for item in items)]
        if more:
            lines.append(f"…и ещё {more} {_plural(more, 'позиция', 'позиции', 'позиций')}. "
                         "Спросите о любой — подскажу цену и подробности.")
    else:
        lines = ["Here is some of what we offer:", *(f"• {item}" for item in items)]
        if more:
            lines.append(f"…and {more} more {'item' if more == 1 else 'items'}. Ask me about any of them.")
    return Reply("\n".join(lines), list(shown))


def _plural(n: int, one: str, few: str, many: str) -> str:
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many


def handover(language: str) -> str:
    if language == "ru":
        return ("К сожалению, в наших материалах нет ответа на этот вопрос. "
                "Я передал его сотруднику — он ответит вам здесь.")
    return ("Sorry, our materials don't answer this question. "
            "I've passed it to a member of staff, who will reply here.")
