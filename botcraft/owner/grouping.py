"""Grouping customers' questions that ask the same thing in other words.

Two questions are the same when their analyzer terms (stems, so inflections and word order
do not matter) mostly coincide: half of all their terms shared, or all but a little of the
shorter one's. Greedy and in order, so the newest phrasing leads its group.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from botcraft.language.analyzer import query_terms

T = TypeVar("T")


def terms_of(text: str) -> frozenset[str]:
    return frozenset(query_terms(text))


def similar(a: frozenset[str], b: frozenset[str]) -> bool:
    if not a or not b:
        return False
    shared = len(a & b)
    return shared / len(a | b) >= 0.5 or (shared >= 2 and shared / min(len(a), len(b)) >= 0.8)


@dataclass
class Group(Generic[T]):
    terms: frozenset[str]
    items: list[T] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)


def group(items: Iterable[tuple[T, str]]) -> list[Group[T]]:
    """Items with their question text, newest first → groups, each led by its newest phrasing."""
    groups: list[Group[T]] = []
    for item, text in items:
        terms = terms_of(text)
        if not terms:
            continue
        for candidate in groups:
            if similar(candidate.terms, terms):
                break
        else:
            candidate = Group(terms)
            groups.append(candidate)
        candidate.items.append(item)
        if text not in candidate.texts:
            candidate.texts.append(text)
    return groups
