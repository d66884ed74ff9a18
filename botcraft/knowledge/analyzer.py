"""The one tokenisation used to index chunks and to read queries, on SQLite and PostgreSQL.

Both databases index a precomputed string of terms (`index_text`) with a plain whitespace
tokenizer, so stemming and SKU handling happen here, identically for documents and queries:

- lowercase, NFKC (full-width and superscript forms), ё → е;
- tokens are runs of letters and digits; Russian words get the Snowball Russian stemmer,
  English words the English one, numbers stay as they are;
- codes are kept whole and in parts: "XL-42" → xl, 42, xl42 and "A4" → a4, a, 4, so
  "XL-42", "xl42" and "XL 42" find each other; "1 500" (thousands separated) also → 1500.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

import Stemmer

_RUSSIAN = Stemmer.Stemmer("russian")
_ENGLISH = Stemmer.Stemmer("english")

# A number with space-separated thousands (NFKC has made NBSP and thin spaces plain), or
# letters/digits joined by hyphens.
_TOKEN = re.compile(r"\d{1,3}(?: \d{3})+(?!\w)|[^\W_]+(?:[-\u2010\u2011][^\W_]+)*")
_HYPHENS = re.compile(r"[-\u2010\u2011]")
_RUNS = re.compile(r"\d+|[^\W\d_]+")  # letter runs and digit runs inside one token
_IS_RUSSIAN = re.compile(r"[а-я]+").fullmatch
_IS_ENGLISH = re.compile(r"[a-z]+").fullmatch
# Invisible characters that would split a word in two: soft hyphen, zero-width (non)joiners.
_INVISIBLE = dict.fromkeys([0x00AD, 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF])

_CACHE_MAX = 200_000
# token -> its terms joined by spaces. Replaced (not cleared) when full, so a thread that
# is reading the old dict is never left without its entries.
_cache: dict[str, str] = {}


def analyze(text: str) -> list[str]:
    """Index/query terms of `text`, in order (a token can give several terms)."""
    return index_text(text).split()


def index_text(text: str) -> str:
    """What is stored in the full-text column: the terms separated by single spaces."""
    tokens = _TOKEN.findall(_normalize(text))
    return " ".join(map(_lookup(tokens).__getitem__, tokens))


def query_terms(q: str) -> list[str]:
    """Distinct terms of a question without stopwords (all of them if only stopwords)."""
    terms = _dedupe(analyze(q))
    meaningful = [term for term in terms if term not in _STOPWORDS]
    return meaningful or terms


def fts5_match(terms: Iterable[str]) -> str:
    """An FTS5 MATCH expression that ORs the terms; "" if there are none (do not query).

    Every term is a quoted string, so nothing in it is read as FTS5 syntax.
    """
    return " OR ".join('"' + term.replace('"', '""') + '"' for term in terms)


def tsquery(terms: Iterable[str]) -> str:
    """A `to_tsquery('simple', ...)` expression that ORs the terms; "" if there are none.

    Pass it as a bound parameter. Terms are quoted lexemes, with quotes and backslashes
    doubled as tsquery input requires, so they cannot add operators.
    """
    return " | ".join(
        "'" + term.replace("\\", "\\\\").replace("'", "''") + "'" for term in terms
    )


def _normalize(text: str) -> str:
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    return text.lower().replace("ё", "е").translate(_INVISIBLE)


def _lookup(tokens: list[str]) -> dict[str, str]:
    """The cache, holding every token in `tokens` (analysed once per distinct token)."""
    global _cache
    cache = _cache
    missing = set(tokens).difference(cache)
    if missing:
        if len(cache) + len(missing) > _CACHE_MAX:
            cache = _cache = {}
        for token in missing:
            cache[token] = " ".join(_token_terms(token))
    return cache


def _token_terms(token: str) -> list[str]:
    parts = token.split()
    if len(parts) > 1:  # "1 500": the groups and the whole number
        return [*parts, "".join(parts)]
    parts = _HYPHENS.split(token)
    if len(parts) == 1:
        return _word_terms(token)
    terms = [term for part in parts for term in _word_terms(part)]
    terms += _word_terms("".join(parts))
    return _dedupe(terms)


def _word_terms(word: str) -> list[str]:
    """Terms of one run of letters/digits without separators."""
    if word.isdigit():
        return [word]
    if word.isalpha():
        if _IS_RUSSIAN(word):
            return [_RUSSIAN.stemWord(word)]
        if _IS_ENGLISH(word):
            return [_ENGLISH.stemWord(word)]
        return [word]  # mixed scripts (a Latin "c" in a Russian word) or another script
    # Letters and digits together ("a4", "iphone15", "10x20"): whole, then its runs.
    runs = _RUNS.findall(word)
    return _dedupe([word, *(term for run in runs for term in _word_terms(run))])


def _dedupe(terms: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(terms))


# Words that carry no meaning for retrieval in customers' questions. Question words that
# do ("цена", "стоит", "доставка", "price") are deliberately absent.
_STOPWORD_TEXT = """
а без бы в вам вас во вот все всё вы где да для до его ее её если есть же за здесь
и из или им их к как какая какие каким какое какой когда ко куда ли либо мне мной
можно мы на над нам нас не него нее неё нет ни но ну о об однако он она они оно от
очень по под подскажите пожалуйста почему при про с со спасибо скажите сколько так
также там те тем то тоже той том ту тут ты у уже хочу хотел хотела хотим чем что
чтобы эта эти это этот я здравствуйте привет добрый
a about am an and any are as at be been but by can could do does for from had has
have hello hi how i if in is it its me my of on or please our so than that the their
them then there these they this to too us was we were what when where which who why
will with would you your
"""
_STOPWORDS = frozenset(term for word in _STOPWORD_TEXT.split() for term in analyze(word))
