"""Untrusted JSON bodies read by hand (webhooks): parsed whole, with a bound on nesting.

`json.loads` gives up on very deep nesting with RecursionError, and a payload just short
of that limit can still exhaust the stack of whatever walks it later. No platform sends
more than a dozen levels, so anything deeper than MAX_DEPTH is refused as a 400.
"""

from __future__ import annotations

import json
from typing import Any

from botcraft.errors import AppError
from botcraft.i18n import N_

MAX_DEPTH = 64


def load_json_body(raw: bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """The parsed body, or a 400 in words for a body that is not JSON or is nested too deeply."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise _too_deep(max_depth) from None
    except ValueError as exc:
        raise AppError("The body is not valid JSON.", code="invalid_json") from exc
    if _deeper_than(value, max_depth):
        raise _too_deep(max_depth)
    return value


def _too_deep(max_depth: int) -> AppError:
    return AppError(N_("The JSON body is nested too deeply (more than {levels} levels).").format(levels=max_depth),
                    code="json_too_deep")


def _deeper_than(value: Any, max_depth: int) -> bool:
    # Iterative, so that measuring the depth cannot itself run out of stack.
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > max_depth:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False
