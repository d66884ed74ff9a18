"""The one tokenisation used to index chunks and to read queries, on SQLite and PostgreSQL.

Both databases index a precomputed string of terms (`index_text`) with a plain whitespace
tokenizer, so stemming and SKU handling happen here, identically for documents and queries:

- lowercase, NFKC (full-width and superscript forms), ё → е;
- tokens are runs of letters and digits; Russian words get the Snowball Russian stemmer,
  English words the English one, numbers stay as they are;
- a Russian word the dictionary knows (pymorphy3) also gets the stem of its lemma when that
  differs from its own stem, so forms Snowball cannot join meet: дети/ребёнок,
  ребёнка/ребёнок, людей/человек. Unknown words (names, "латте") keep the Snowball stem only,
  since pymorphy's guesses for them are less consistent than the stemmer;
- codes are kept whole and in parts: "XL-42" → xl, 42, xl42 and "A4" → a4, a, 4, so
  "XL-42", "xl42" and "XL 42" find each other; "1 500" (thousands separated) also → 1500.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable

import pymorphy3
import Stemmer

_RUSSIAN = Stemmer.Stemmer("russian")
_MORPH = pymorphy3.MorphAnalyzer()
_ENGLISH = Stemmer.Stemmer("english")

# Letters/digits, possibly joined by hyphens ("xl-42", "интернет-магазин").
_TOKEN = re.compile(r"[^\W_]+(?:[-\u2010\u2011][^\W_]+)*")
# A number with space-separated thousands (NFKC has made NBSP and thin spaces plain). Its
# word boundaries are checked in _join_thousands. Scanning every indexed text with it is
# slow, so texts are first searched for a hint that starts with a literal (fast) space.
_THOUSANDS = re.compile(r"[0-9]{1,3}(?: [0-9]{3})+(?![0-9])")
_THOUSANDS_HINT = re.compile(r" (?<=[0-9] )[0-9]{3}(?![0-9])")
_HYPHENS = re.compile(r"[-\u2010\u2011]")
_RUNS = re.compile(r"\d+|[^\W\d_]+")  # letter runs and digit runs inside one token
_IS_RUSSIAN = re.compile(r"[а-я]+").fullmatch
_IS_ENGLISH = re.compile(r"[a-z]+").fullmatch
# Invisible characters that would split a word in two: soft hyphen, zero-width (non)joiners.
_INVISIBLE = re.compile("[\u00ad\u200b-\u200d\u2060\ufeff]")

# Punctuation that commonly sticks to a word ("москве,", "(xl-42)", "«цена»").
_EDGE_PUNCTUATION = ".,;:!?…\"'«»„“”()[]{}<>*/\\|#%+=~—–-"

_CACHE_MAX = 200_000
# Whitespace-separated word, punctuation included ("москве,") -> its terms joined by spaces.
# Splitting on whitespace and looking words up runs at C speed; only a word not seen before
# goes through the regex and the stemmer. Replaced (not cleared) when full, so a thread
# reading the old dict keeps its entries.
_cache: dict[str, str] = {}

# A customer's words repeat from message to message, and a dictionary parse costs tens of
# microseconds each: part_of_speech, lemma and the misspelt question word's fuzzy match were
# ~10% of the serving process's event loop in bench/channels_e2e (py-spy). All three are pure
# functions of the word.
_WORDS_REMEMBERED = 20_000


def analyze(text: str) -> list[str]:
    """Index/query terms of `text`, in order (a token can give several terms)."""
    return index_text(text).split()


def index_text(text: str) -> str:
    """What is stored in the full-text column: the terms separated by single spaces."""
    words = _normalize(text).split()
    return " ".join(filter(None, map(_lookup(words).__getitem__, words)))


def analyze_words(text: str) -> list[list[str]]:
    """The terms of each word of `text`, word by word (words without terms are left out)."""
    words = _normalize(text).split()
    cache = _lookup(words)
    return [terms.split() for terms in map(cache.__getitem__, words) if terms]


def normalize(text: str) -> str:
    """Lowercase, NFKC, ё → е: the form the analyzer reads (for matching phrases in text)."""
    return _normalize(text)


def is_stopword(term: str) -> bool:
    return term in _STOPWORDS


@functools.lru_cache(maxsize=_WORDS_REMEMBERED)
def is_misspelt_question_word(word: str) -> bool:
    """"сколко", "пожалуста": a question word off by one letter (never a word the dictionary knows)."""
    from rapidfuzz.distance import DamerauLevenshtein
    from rapidfuzz.process import extractOne

    word = _normalize(word)
    if len(word) < 5 or not word.isalpha() or (_IS_RUSSIAN(word) and _MORPH.word_is_known(word)):
        return False
    return extractOne(word, _LONG_STOPWORDS, scorer=DamerauLevenshtein.distance, score_cutoff=1) is not None


def query_terms(q: str) -> list[str]:
    """Distinct terms of a question without stopwords (all of them if only stopwords)."""
    terms = _dedupe(analyze(q))
    meaningful = [term for term in terms if term not in _STOPWORDS]
    return meaningful or terms


def _normalize(text: str) -> str:
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    text = text.lower().replace("ё", "е")
    if not text.replace("\n", " ").isprintable():  # a C-speed check that skips the regex
        text = _INVISIBLE.sub("", text)
    if _THOUSANDS_HINT.search(text):
        text = _THOUSANDS.sub(_join_thousands, text)
    return text


def _join_thousands(match: re.Match[str]) -> str:
    """ "1 500" -> "1 500 1500": the groups as written, and the number as typed in a query."""
    text, start, end = match.string, match.start(), match.end()
    if (start and text[start - 1].isalnum()) or (end < len(text) and text[end].isalnum()):
        return match[0]  # part of a longer token, such as "a12 345"
    return f"{match[0]} {match[0].replace(' ', '')}"


def _lookup(words: list[str]) -> dict[str, str]:
    """The cache, holding every word in `words` (analysed once per distinct word)."""
    global _cache
    cache = _cache
    missing = set(words).difference(cache)
    if missing:
        if len(cache) + len(missing) > _CACHE_MAX:
            cache = _cache = {}
            missing = set(words)
        for word in missing:
            core = word.strip(_EDGE_PUNCTUATION)
            if core.isdigit():  # prices, quantities, barcodes: the most common new words
                cache[word] = core
            else:
                cache[word] = " ".join(_word_terms(core) if core.isalnum() else _split_terms(core))
    return cache


def _split_terms(text: str) -> list[str]:
    """Terms of text with punctuation inside ("цена:1500", "xl-42")."""
    return [term for token in _TOKEN.findall(text) for term in _token_terms(token)]


def _token_terms(token: str) -> list[str]:
    parts = _HYPHENS.split(token)
    if len(parts) == 1:
        return _word_terms(token)
    terms = [term for part in parts for term in _word_terms(part)]
    joined = "".join(parts)
    # The parts' terms already hold the letter and digit runs of a joined "xl42".
    terms += _word_terms(joined) if joined.isalpha() else [joined]
    return _dedupe(terms)


def _word_terms(word: str) -> list[str]:
    """Terms of one run of letters/digits without separators."""
    if word.isdigit():
        return [word]
    if word.isalpha():
        if _IS_RUSSIAN(word):
            return _russian_terms(word)
        if _IS_ENGLISH(word):
            return [_ENGLISH.stemWord(word)]
        return [word]  # mixed scripts (a Latin "c" in a Russian word) or another script
    # Letters and digits together ("a4", "iphone15", "10x20"): whole, then its runs. A word
    # that is one run is kept whole: numeric signs that are neither letters nor decimal
    # digits ("〇", "½", "Ⅻ") are alphanumeric to Python but one run to the regex, and
    # recursing on them would never end.
    runs = _RUNS.findall(word)
    if len(runs) <= 1:
        return [word]
    return _dedupe([word, *(term for run in runs for term in _word_terms(run))])


def _russian_terms(word: str) -> list[str]:
    """The word's stem, and its lemma's stem when the dictionary knows the word and they differ."""
    stem = _RUSSIAN.stemWord(word)
    if len(word) < 3 or not _MORPH.word_is_known(word):
        return [stem]
    lemma_stem = _RUSSIAN.stemWord(_MORPH.parse(word)[0].normal_form.replace("ё", "е"))
    return [stem] if lemma_stem == stem else [stem, lemma_stem]


@functools.lru_cache(maxsize=_WORDS_REMEMBERED)
def part_of_speech(word: str) -> str | None:
    """pymorphy3's part of speech of a Russian word ("NOUN", "INFN", ...), None if unknown."""
    word = word.lower().replace("ё", "е")
    if not _IS_RUSSIAN(word) or not _MORPH.word_is_known(word):
        return None
    tag = _MORPH.parse(word)[0].tag.POS
    return str(tag) if tag else None


@functools.lru_cache(maxsize=_WORDS_REMEMBERED)
def lemma(word: str) -> str:
    """The dictionary form of a Russian word ("ребёнка" → "ребенок"), else the word lowercased."""
    word = word.lower().replace("ё", "е")
    if not _IS_RUSSIAN(word) or not _MORPH.word_is_known(word):
        return word
    return _MORPH.parse(word)[0].normal_form.replace("ё", "е")


def inflect_genitive(word: str) -> str | None:
    """A Russian noun in the genitive, lowercase ("Салон" → "салона"), or None if not a known noun."""
    lowered = word.lower()
    if not _MORPH.word_is_known(lowered):
        return None
    parse = next((p for p in _MORPH.parse(lowered) if p.tag.POS == "NOUN" and p.tag.case == "nomn"), None)
    inflected = parse.inflect({"gent"}) if parse is not None else None
    return inflected.word if inflected is not None else None


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
чтобы эта эти это этот я здравствуйте привет добрый нибудь будет
a about am an and any are as at be been but by can could do does for from had has
have hello hi how i if in is it its me my of on or please our so than that the their
them then there these they this to too us was we were what when where which who why
will with would you your
"""
_STOPWORDS = frozenset(term for word in _STOPWORD_TEXT.split() for term in analyze(word))
_LONG_STOPWORDS = [word.replace("ё", "е") for word in _STOPWORD_TEXT.split() if len(word) >= 5]
