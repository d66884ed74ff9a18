"""A customer's question read for search: its concepts, each with everything that finds it.

A concept is one content word (or a synonym phrase such as "как добраться") of the
question. Question words (сколько, можно, ли, есть, у вас, какой) are not concepts. Each
concept carries its own terms, its synonyms' terms (built-in and the owner's), and, when the
agent's documents lack the word, the spelling of the agent's nearest own word (маникур →
маникюр). A concept that names a thing (a noun, a code, an unknown word) which the agent's
documents never mention makes the question out of scope: "ремонт айфона" at a car service.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

from botcraft.knowledge.vocabulary import Vocabulary
from botcraft.language.analyzer import (
    analyze_words,
    is_misspelt_question_word,
    is_stopword,
    lemma,
    normalize,
    part_of_speech,
)
from botcraft.language.synonyms import Thesaurus

# Nouns that name no thing of the business: their absence from the documents says nothing.
_GENERIC_NOUNS = frozenset(
    "время день раз вопрос информация место способ вариант возможность случай человек люди "
    "сегодня завтра минута час неделя месяц год штука сумма помощь ответ деньги вещь кусочек кусок "
    "порция штучка что-нибудь".split()
)
# English words too common in questions to mark one as out of scope.
_GENERIC_ENGLISH = frozenset(
    "want need like know tell get make take come bring time today tomorrow much many long "
    "there here some thing things item items stuff help also just still really good best".split()
)
_LETTER = re.compile(r"[^\W\d_]")
_DIGIT = re.compile(r"\d")
_KIND_WEIGHT = 0.5  # "сколько стоит" is in every price row: it says little about which one
# In a large agent a term in more than this share of its chunks finds nothing in particular.
_COMMON_SHARE = 0.3
_COMMON_AFTER_CHUNKS = 1000


@dataclass(frozen=True, slots=True)
class Concept:
    said: str  # the customer's word(s)
    terms: frozenset[str]  # its own terms, its synonyms' and a spelling correction's
    kind: bool  # says what kind of answer is wanted (price, hours, address)
    thing: bool  # names a thing: if the documents never mention it, nothing here answers
    known: bool  # the agent's documents contain one of its terms (True without a vocabulary)
    weight: float
    own: frozenset[str] = frozenset()  # the terms of the customer's own words (and corrections)
    specific: bool = False  # a thing outside any synonym group: "чизкейк", "педикюр", "XL-42"
    strict: bool = False  # must be in the documents, else the question is out of scope
    position: int = 0  # where in the message it was said
    current: bool = True  # False: from the previous question of a follow-up


@dataclass(frozen=True, slots=True)
class Query:
    text: str
    concepts: tuple[Concept, ...]
    vocabulary: Vocabulary | None = None

    @property
    def asks_about_the_unknown(self) -> bool:
        """The first thing the message names is one the documents never mention ("наращивание
        волос": the head noun comes first, what it is of follows)."""
        things = [c for c in self.concepts if c.current and c.thing]
        return bool(things) and things[0].strict and not things[0].known

    @property
    def unknown_things(self) -> list[str]:
        """Things the customer asks about now that the agent's documents never mention."""
        return [c.said for c in self.concepts if c.current and c.strict and not c.known]

    def search_terms(self) -> list[str]:
        """The terms to OR in the full-text query: few, and only ones that can match.

        Every concept's own terms; its synonyms only where the agent's documents have them;
        a kind of answer ("сколько стоит") only when nothing else is asked, since its
        synonyms (цена, стоимость) are in most rows and would make every query scan them.
        """
        vocabulary = self.vocabulary
        things = any(not c.kind for c in self.concepts)
        terms: set[str] = set()
        for concept in self.concepts:
            own = concept.terms if vocabulary is None else {
                t for t in concept.terms if vocabulary.knows(t)} | set(concept.own)
            terms |= set(concept.own) if concept.kind and things else own
        if vocabulary is not None and vocabulary.chunks >= _COMMON_AFTER_CHUNKS:
            rare = {t for t in terms if vocabulary.frequency(t) <= vocabulary.chunks * _COMMON_SHARE}
            terms = rare or terms
        return sorted(terms)


def understand(
    text: str, thesaurus: Thesaurus, vocabulary: Vocabulary | None = None, *, previous: str | None = None
) -> Query:
    """The question's concepts; with `previous` (a follow-up), the earlier question's as well."""
    concepts = _concepts(text, thesaurus, vocabulary)
    if previous:
        said = {c.terms for c in concepts}
        earlier = [replace(c, current=False) for c in _concepts(previous, thesaurus, vocabulary)
                   if c.terms not in said]
        concepts = earlier + concepts
    return Query(text if not previous else f"{previous} {text}", tuple(concepts), vocabulary)


def inherit_kinds(part: Query, first: Query) -> Query:
    """A later part of a two-part question asks what the first asked: "…и круассан" → its price.

    Only a part that names plain things inherits; "…и есть ли парковка" asks its own question."""
    if not part.concepts or any(c.kind or (c.thing and not c.specific) for c in part.concepts):
        return part
    kinds = tuple(c for c in first.concepts if c.kind)
    return Query(part.text, kinds + part.concepts, part.vocabulary)


def _concepts(text: str, thesaurus: Thesaurus, vocabulary: Vocabulary | None) -> list[Concept]:
    words = [w.strip(".,;:!?…\"'«»()[]") for w in thesaurus.rewrite(text).split()]
    words = [w for w in words if w]
    word_terms = [frozenset(t for terms in analyze_words(w) for t in terms) for w in words]
    used = [False] * len(words)
    concepts: list[Concept] = []
    said = frozenset().union(*word_terms)
    for group, phrase in thesaurus.word_phrases:  # phrases of two or more words first: "как добраться"
        if any(member.isdisjoint(said) for member in phrase):
            continue  # one of its words is nowhere in the text: no need to look for it at each position
        for start in range(len(words)):
            span = _phrase_at(phrase, start, word_terms, used)
            if span:
                for i in span:
                    used[i] = True
                own = frozenset(t for i in span for t in word_terms[i] if not is_stopword(t))
                _add(concepts, replace(_concept(" ".join(words[i] for i in span), own | group.terms,
                                                kind=group.kind, thing=False, vocabulary=vocabulary, own=own),
                                       position=span[0]))
    for i, word in enumerate(words):
        if used[i]:
            continue
        own = frozenset(t for t in word_terms[i] if not is_stopword(t))
        if "-" in word and all(is_stopword(t) for part in word.split("-") for ts in analyze_words(part) for t in ts):
            own = frozenset()  # "какой-нибудь", "что-то": question words joined
        if own and vocabulary is not None and not any(map(vocabulary.knows, own)) and is_misspelt_question_word(word):
            own = frozenset()  # "сколко стоит": a question word mistyped is still a question word
        if not own:
            # A question word (сколько, можно, ли, есть) is no concept, unless a synonym group
            # says what it asks for: "шиномонтаж сколько?" asks for a price.
            own_groups = [thesaurus.groups[g] for t in word_terms[i] for g in thesaurus.by_term.get(t, ())]
            for group in own_groups:
                _add(concepts, replace(_concept(word, group.terms, kind=group.kind, thing=False,
                                                vocabulary=vocabulary), position=i))
            continue
        terms = set(own)
        if vocabulary is not None and not any(map(vocabulary.knows, own)):
            terms |= _corrections(word, own, vocabulary)
        said_terms = frozenset(terms)
        groups = [thesaurus.groups[g] for t in terms for g in thesaurus.by_term.get(t, ())]
        for group in groups:
            terms |= group.terms
        kind = any(g.kind for g in groups)
        # A word of a synonym group names a service or a thing ("покраска", "собака") unless
        # the group is a kind of answer (price, hours).
        thing = not kind and (bool(groups) or _names_a_thing(word))
        # What the documents must mention for the question to be in scope: a named thing
        # ("айфон", "XL-42"), or a service noun ("покраска"); not a verb of a group ("оплатить").
        strict = thing and (not groups or part_of_speech(word) == "NOUN")
        _add(concepts, replace(_concept(word, frozenset(terms), kind=kind, thing=thing, vocabulary=vocabulary,
                                        specific=thing and not groups, strict=strict, own=said_terms), position=i))
    return sorted(concepts, key=lambda c: c.position)


def _phrase_at(phrase: tuple[frozenset[str], ...], start: int, word_terms: list[frozenset[str]],
               used: list[bool]) -> list[int]:
    """Positions of the phrase's words from `start`, allowing up to two question words between
    them ("как до вас добраться" has "как … добраться"); [] when it is not there."""
    positions: list[int] = []
    i = start
    for k, member in enumerate(phrase):
        gap = 0
        while i < len(word_terms) and not (word_terms[i] & member) and k > 0 and gap < 2 \
                and all(is_stopword(t) for t in word_terms[i]):
            i += 1
            gap += 1
        if i >= len(word_terms) or used[i] or not (word_terms[i] & member):
            return []
        positions.append(i)
        i += 1
    return positions


def _add(concepts: list[Concept], concept: Concept) -> None:
    """Two words of one synonym group ("во сколько открываетесь") are one concept."""
    for i, other in enumerate(concepts):
        if other.terms & concept.terms and (other.kind or concept.kind or other.terms <= concept.terms
                                            or concept.terms <= other.terms):
            concepts[i] = replace(other, said=f"{other.said} {concept.said}", terms=other.terms | concept.terms,
                                  own=other.own | concept.own,
                                  known=other.known or concept.known, weight=max(other.weight, concept.weight))
            return
    concepts.append(concept)


def _concept(said: str, terms: frozenset[str], *, kind: bool, thing: bool, vocabulary: Vocabulary | None,
             specific: bool = False, strict: bool = False, own: frozenset[str] = frozenset()) -> Concept:
    def make(known: bool, weight: float) -> Concept:
        return Concept(said=said, terms=terms, kind=kind, thing=thing, known=known, weight=weight, own=own,
                       specific=specific, strict=strict)

    if vocabulary is None:
        return make(True, _KIND_WEIGHT if kind else 1.0)
    frequency = max((vocabulary.frequency(t) for t in terms), default=0)
    if not frequency:
        # Unknown to the documents: a thing counts a little against a passage (it may be
        # incidental: "чизкейка кусочек"), any other word (a verb, "прийти") not at all.
        return make(False, 1.0 if thing else 0.0)
    weight = 1.0 + math.log((vocabulary.chunks + 1) / (frequency + 1))
    return make(True, weight * (_KIND_WEIGHT if kind else 1.0))


def _corrections(word: str, own: frozenset[str], vocabulary: Vocabulary) -> set[str]:
    """The agent's own spelling of a misspelt word, if one is close enough."""
    if not word.isalpha() or len(word) < 4:
        return set()
    in_dictionary = part_of_speech(word) is not None
    if in_dictionary and len(word) < 5:
        return set()
    # A real word ("стрижа") may still be a slip for the agent's ("стрижка"), but only by one letter.
    max_distance = 1 if in_dictionary or len(word) < 8 else 2
    found = {vocabulary.correct(term, max_distance=max_distance) for term in own if term.isalpha()}
    return {term for term in found if term}


def _names_a_thing(word: str) -> bool:
    if _DIGIT.search(word):
        return bool(_LETTER.search(word))  # a code such as XL-42; a bare number is not a thing
    word = normalize(word)
    if re.fullmatch(r"[a-z-]+", word):
        return len(word) >= 4 and word not in _GENERIC_ENGLISH and not is_stopword(word)
    pos = part_of_speech(word)
    if pos is None:
        return True  # not in the dictionary: a name, a brand, a dish
    return pos == "NOUN" and lemma(word) not in _GENERIC_NOUNS
