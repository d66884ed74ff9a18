"""Every message a person reads, in their language: one gettext catalogue, Russian by default.

Owns no tables; imports only the standard library, Babel and pydantic.

Messages are written in English in the code, as gettext msgids, and translated when they
leave the server: API `detail`s in the error handlers, stored reasons (attention, document
and channel errors) when a response is built. The catalogue is
`locales/<lang>/LC_MESSAGES/messages.po`, read once at start (no compile step); a test checks
that every message the code can say has its Russian translation.

How a message is marked, so that `pybabel extract` and that test find it:
- the first argument of an error class (`NotFound("Agent not found.")`) is a message;
- any other message is wrapped in `N_()` where it is written;
- a message with values is a template, `N_("Telegram asks to wait {seconds} s").format(...)`:
  the text is stored and sent already formatted, and `translate()` recognises the template
  in it, so the values survive translation.

The language of a request is its `Accept-Language` (the web app sends the language the
person chose), else Russian.
"""

from __future__ import annotations

import functools
import gettext
import io
import re
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from pydantic import AfterValidator

SUPPORTED = ("ru", "en")
DEFAULT = "ru"
LOCALES = Path(__file__).parent / "locales"

# The language of the request being served (set by the request middleware).
current: ContextVar[str] = ContextVar("botcraft_language", default=DEFAULT)

_PLACEHOLDER = re.compile(r"\\\{(\w+)\\\}")


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "mark, translate later"
    return message


def choose(accept_language: str | None) -> str:
    """The supported language a browser or client asks for first, by q-value; else Russian."""
    if not accept_language:
        return DEFAULT
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        language = tag.strip().split("-", 1)[0].lower()
        if language not in SUPPORTED:
            continue
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if quality > 0:
            ranked.append((-quality, index, language))
    return min(ranked)[2] if ranked else DEFAULT


def translate(message: str, language: str | None = None) -> str:
    """`message` in `language` (the request's by default); unknown messages stay as they are."""
    language = language or current.get()
    if language == "en" or not message:
        return message
    catalogue = _catalogue(language)
    if catalogue is None:
        return message
    translated = catalogue.gettext(message)
    if translated is not message and translated != message:
        return translated
    return _translate_formatted(message, language)


def translate_stored(message: str | None) -> str | None:
    """A reason stored in English (attention, document and delivery errors), for this request."""
    return translate(message) if message else message


# A response field holding a stored reason: translated as the response is built.
StoredText = Annotated[str | None, AfterValidator(translate_stored)]


def t(message: str, **values: object) -> str:
    """Translate a template for the current request, then fill in its values."""
    return translate(message).format(**values) if values else translate(message)


@functools.cache
def _catalogue(language: str) -> gettext.GNUTranslations | None:
    path = LOCALES / language / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return None
    with path.open("rb") as po:
        catalog = read_po(po, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


@functools.cache
def _templates(language: str) -> list[tuple[re.Pattern[str], str]]:
    """The catalogue's messages with {values}, as patterns that recognise them once formatted."""
    catalogue = _catalogue(language)
    if catalogue is None:
        return []
    found = []
    for msgid, msgstr in getattr(catalogue, "_catalog", {}).items():
        if isinstance(msgid, str) and "{" in msgid and msgstr:
            pattern = _PLACEHOLDER.sub(lambda m: f"(?P<{m[1]}>.+?)", re.escape(msgid))
            found.append((re.compile(f"^{pattern}$", re.DOTALL), msgstr))
    # Longer templates first: "Telegram refused the webhook: {x}" before "Telegram {x}".
    return sorted(found, key=lambda item: -len(item[0].pattern))


@functools.lru_cache(maxsize=4096)
def _translate_formatted(message: str, language: str) -> str:
    for pattern, msgstr in _templates(language):
        match = pattern.match(message)
        if match:
            values = {name: translate(value, language) for name, value in match.groupdict().items()}
            return msgstr.format(**values)
    return message
