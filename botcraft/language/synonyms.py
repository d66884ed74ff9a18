"""Synonyms as data: the built-in everyday-commerce groups plus the owner's own, per agent.

The format (botcraft/language/data/synonyms.txt, and an agent's `synonyms` field) is one
line per group, members separated by commas; a member may be a phrase. `a => b` reads a
colloquial form as the standard one. A line starting with "?" is a question-kind group (a
price, the opening hours, the address): the second part of a two-part question inherits it.
Members are matched through the analyzer, so any form of a word stands for all of them.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

from botcraft.language.analyzer import analyze_words, is_stopword, normalize

_BUILTIN = Path(__file__).with_name("data") / "synonyms.txt"

Phrase = tuple[frozenset[str], ...]  # the terms of each word of a member


@dataclass(frozen=True, slots=True)
class Group:
    phrases: tuple[Phrase, ...]
    terms: frozenset[str]  # every content term of every member: what the group searches for
    kind: bool  # a question-kind group ("?" line)


@dataclass(frozen=True, slots=True)
class Thesaurus:
    groups: tuple[Group, ...]
    rewrites: tuple[tuple[re.Pattern[str], str], ...]
    by_term: dict[str, tuple[int, ...]]  # a single-word member's term -> its groups
    # Every member of two or more words with its group, in the groups' order (knowledge.query).
    word_phrases: tuple[tuple[Group, Phrase], ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "word_phrases", tuple(
            (group, phrase) for group in self.groups for phrase in group.phrases if len(phrase) >= 2))

    def rewrite(self, text: str) -> str:
        """The text with colloquial forms replaced by standard ones (normalised, lowercase)."""
        text = normalize(text)
        for pattern, standard in self.rewrites:
            text = pattern.sub(standard, text)
        return text


def parse_lines(text: str) -> tuple[list[Group], list[tuple[re.Pattern[str], str]]]:
    groups: list[Group] = []
    rewrites: list[tuple[re.Pattern[str], str]] = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if "=>" in line:
            colloquial, standard = (normalize(part).strip() for part in line.split("=>", 1))
            if colloquial and standard:
                rewrites.append((re.compile(rf"(?<!\w){re.escape(colloquial)}(?!\w)"), standard))
            continue
        kind = line.startswith("?")
        members = [m.strip() for m in line.lstrip("?").split(",")]
        phrases = tuple(
            tuple(frozenset(word) for word in analyze_words(member)) for member in members if member
        )
        phrases = tuple(p for p in phrases if p)
        terms = frozenset(t for phrase in phrases for word in phrase for t in word if not is_stopword(t))
        if len(phrases) >= 2 and terms:
            groups.append(Group(phrases, terms, kind))
    return groups, rewrites


@functools.cache
def _builtin() -> tuple[tuple[Group, ...], tuple[tuple[re.Pattern[str], str], ...]]:
    groups, rewrites = parse_lines(_BUILTIN.read_text(encoding="utf-8"))
    return tuple(groups), tuple(rewrites)


@functools.lru_cache(maxsize=256)
def thesaurus(owner_lines: str = "") -> Thesaurus:
    """The built-in groups, then the owner's (an owner's group may join a built-in one)."""
    builtin_groups, builtin_rewrites = _builtin()
    owner_groups, owner_rewrites = parse_lines(owner_lines or "")
    groups = (*builtin_groups, *owner_groups)
    by_term: dict[str, list[int]] = {}
    for index, group in enumerate(groups):
        for phrase in group.phrases:
            if len(phrase) == 1:
                for term in phrase[0]:
                    by_term.setdefault(term, []).append(index)
    # The owner's rewrites first: they may override a built-in reading.
    return Thesaurus(groups, (*owner_rewrites, *builtin_rewrites),
                     {term: tuple(ids) for term, ids in by_term.items()})


def check_owner_lines(text: str) -> list[str]:
    """Lines of an owner's synonyms that mean nothing (one member, no words): for a clear 422."""
    bad = []
    for raw in (text or "").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if "=>" in line:
            left, right = line.split("=>", 1)
            if not left.strip() or not right.strip():
                bad.append(raw.strip())
        elif len([m for m in line.lstrip("?").split(",") if analyze_words(m)]) < 2:
            bad.append(raw.strip())
    return bad
