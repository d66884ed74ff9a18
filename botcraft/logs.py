"""Structured logs (JSON in production) with a request id, and secrets scrubbed out.

Scrubbing happens twice on purpose: by key (anything named like a password or token) and
by pattern (Telegram bot tokens appear inside URLs that libraries log on their own).
"""

from __future__ import annotations

import functools
import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

_SECRET_KEYS = re.compile(
    r"pass(word)?|secret|token|authorization|api_?key|initdata|cookie|signature", re.I
)
_SECRET_PATTERNS = (
    (re.compile(r"(?<![0-9])\d{5,12}:[A-Za-z0-9_-]{30,}"), "<bot-token>"),  # Telegram bot token, in a URL too
    (re.compile(r"(?i:(bearer\s+)[A-Za-z0-9._~+/=-]{8,})"), r"\1<redacted>"),
    (re.compile(r"(?i:(access_token=)[^&\s]+)"), r"\1<redacted>"),
    (re.compile(r"\bsk-[A-Za-z0-9_-]{8,}"), "<api-key>"),
)


# Matches wherever any of the patterns does: most log values hold no secret, and one search
# over them costs a quarter of the four substitutions (a replacement never makes a new match).
_ANY_SECRET = re.compile("|".join(f"(?:{pattern.pattern})" for pattern, _ in _SECRET_PATTERNS))


def scrub_text(text: str) -> str:
    if not _ANY_SECRET.search(text):
        return text
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


@functools.lru_cache(maxsize=4096)
def _is_secret_key(key: str) -> bool:
    # A line's keys are mostly the same few names (the call sites', structlog's): each is
    # matched once instead of at every line, where a line has about ten of them.
    return _SECRET_KEYS.search(key) is not None


def _scrub(value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):
        return scrub_text(value)
    if depth < 4 and isinstance(value, dict):
        return {
            k: "<redacted>" if _is_secret_key(str(k)) else _scrub(v, depth + 1)
            for k, v in value.items()
        }
    if depth < 4 and isinstance(value, list | tuple):
        return [_scrub(v, depth + 1) for v in value]
    return value


def _scrub_processor(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        if key != "event" and _is_secret_key(key):
            event_dict[key] = "<redacted>"
        else:
            event_dict[key] = _scrub(event_dict[key])
    return event_dict


class _ScrubFilter(logging.Filter):
    """For records that bypass structlog (uvicorn, httpx, aiogram, asyncpg)."""

    def __init__(self) -> None:
        super().__init__()
        # Held here: a record logged while the interpreter exits (an unclosed client's
        # __del__) finds the module's globals already cleared.
        self._scrub = scrub_text

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            try:
                record.msg = record.getMessage()
                record.args = None
            except (TypeError, ValueError):
                pass
        if isinstance(record.msg, str):
            record.msg = self._scrub(record.msg)
        return True


def configure_logging(*, json_logs: bool, level: str = "INFO") -> None:
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _scrub_processor,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if json_logs
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.format_exc_info,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared, processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer]
    )
    # No renderer shows where a call was made or which thread or process made it, and the
    # logging module looks each up for every record unless told not to (its HOWTO's
    # "Optimization"). With _is_secret_key's cache, an access line (one per request) costs
    # about three quarters of what it did.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    handler.addFilter(_ScrubFilter())
    handler.set_name("botcraft")
    root = logging.getLogger()
    # Replace only our own handler: others (a test's log capture) stay attached.
    root.handlers[:] = [h for h in root.handlers if h.get_name() != "botcraft"] + [handler]
    root.setLevel(level.upper())
    # httpx logs every request URL at INFO, and Telegram URLs carry the bot token. The openai
    # SDK brings its own copy of httpx, logging as "httpx2": a line per LLM call otherwise.
    for noisy in ("httpx", "httpx2", "httpcore", "aiogram.event", "openai", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
