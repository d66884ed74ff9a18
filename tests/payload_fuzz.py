"""Real payloads with one field replaced by garbage: parsers must never raise on them."""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator
from typing import Any


def corrupted_copies(original: Any, weird: list[Any], *, seed: str, count: int = 300) -> Iterator[Any]:
    """`count` copies of `original`, each with one value (never "object") swapped for junk."""
    rng = random.Random(seed)
    for _ in range(count):
        payload = copy.deepcopy(original)
        slots: list[tuple[Any, Any]] = []

        def walk(node: Any) -> None:
            items = node.items() if isinstance(node, dict) else enumerate(node)
            for key, value in list(items):
                if not (isinstance(node, dict) and key == "object"):
                    slots.append((node, key))
                if isinstance(value, dict | list):
                    walk(value)

        walk(payload)
        container, key = rng.choice(slots)
        container[key] = rng.choice(weird)
        yield payload
