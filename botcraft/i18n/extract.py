"""`make messages`: bring the catalogue in step with the code (`python -m botcraft.i18n.extract`).

Finds every message the code can say (see the package docstring for how they are marked),
adds the new ones to each language's messages.po with an empty translation, and drops those
the code no longer says. Translations already made are kept.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from botcraft.i18n import LOCALES, SUPPORTED

PACKAGE = Path(__file__).resolve().parents[1]
# The first argument of each of these calls is a message.
KEYWORDS: dict[str, tuple[int, ...] | None] = {name: None for name in (
    "N_", "AppError", "NotFound", "Unauthorized", "Conflict", "Unprocessable", "TooManyRequests",
    "ChannelSetupError", "SendError", "ParseFailed", "ExtractionError", "UploadTooLarge", "EmptyFile",
    "InitDataError",
)}


def messages_in_code() -> dict[str, list[tuple[str, int]]]:
    """Each message the code says, with where it says it."""
    found: dict[str, list[tuple[str, int]]] = {}
    for filename, line, message, _comments, _context in extract_from_dir(
        str(PACKAGE), method_map=[("**.py", "python")], keywords=KEYWORDS, comment_tags=(), strip_comment_tags=True,
    ):
        if isinstance(message, str) and message.strip():
            found.setdefault(message, []).append((filename, line))
    return found


def catalogue_path(language: str) -> Path:
    return LOCALES / language / "LC_MESSAGES" / "messages.po"


def read(language: str) -> Catalog:
    path = catalogue_path(language)
    if not path.exists():
        return Catalog(locale=language, domain="messages")
    with path.open("rb") as po:
        return read_po(po, locale=language)


def untranslated(language: str) -> list[str]:
    catalog = read(language)
    return sorted(m for m in messages_in_code() if not _translated(catalog, m))


def _translated(catalog: Catalog, message: str) -> bool:
    found = catalog.get(message)
    return bool(found and found.string)


def update() -> None:
    code = messages_in_code()
    for language in SUPPORTED:
        if language == "en":
            continue  # the messages are written in English
        old = read(language)
        new = Catalog(locale=language, domain="messages", project="BotCraft")
        for message, places in sorted(code.items()):
            previous = old.get(message)
            new.add(message, previous.string if previous else "", locations=places)
        path = catalogue_path(language)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as po:
            write_po(po, new, width=120, omit_header=False, sort_output=True)
        missing = [m for m in code if not _translated(new, m)]
        print(f"{language}: {len(code)} messages, {len(missing)} without a translation", file=sys.stderr)


if __name__ == "__main__":
    update()
