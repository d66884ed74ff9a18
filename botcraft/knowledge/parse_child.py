"""Parse one document in a child process: `python -m botcraft.knowledge.parse_child`.

Reads {"path", "file_type", "limits", "out"} as JSON on stdin. Writes to the file `out` a
first line {"pages": n} and then one JSON line per chunk, or the single line
{"error": reason} for a file that cannot be read. The parent inserts the chunks batch by
batch, so it never holds a whole 150,000-row price list in memory.

Running apart means a hostile file can at worst kill this process: the parent enforces
the time limit by killing it, and the memory limit below keeps a decompression trick
from taking the machine down.

It dies with its parent (`python -m botcraft.knowledge.parse_child <parent pid>`; see
child_lifetime.py), so a server killed with SIGKILL leaves no parser burning a core.
"""

from __future__ import annotations

import gc
import json
import resource
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TextIO

from botcraft.i18n import N_
from botcraft.knowledge.child_lifetime import bind_to_parent

MEMORY_LIMIT_BYTES = 2 * 1024 * 1024 * 1024


def _limit_memory() -> None:
    try:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
    except (ValueError, OSError):
        pass


def _line(value: object) -> str:
    return json.dumps(value, ensure_ascii=False) + "\n"


def parse(path: Path, file_type: str, limits: dict[str, object], out: TextIO) -> None:
    from botcraft.knowledge.chunking import chunk_passages
    from botcraft.knowledge.parsers import ExtractionError, ExtractLimits, extract
    from botcraft.language.analyzer import index_text

    try:
        extraction = extract(path, file_type, ExtractLimits(**limits))  # type: ignore[arg-type]
    except ExtractionError as exc:
        out.write(_line({"error": exc.reason}))
        return
    except MemoryError:
        out.write(_line({"error": N_("The file needs more memory to read than this server allows.")}))
        return
    out.write(_line({"pages": extraction.pages}))
    for chunk in chunk_passages(extraction.passages):
        out.write(_line({**asdict(chunk), "search_text": index_text(chunk.searchable_text())}))


def main() -> None:
    if len(sys.argv) > 1:
        bind_to_parent(int(sys.argv[1]))
    _limit_memory()
    # A short-lived process that builds many small objects: the cyclic collector would
    # only spend time (about 15% of a large XLSX) finding nothing to free.
    gc.disable()
    request = json.load(sys.stdin)
    with open(request["out"], "w", encoding="utf-8") as out:
        parse(Path(request["path"]), request["file_type"], request.get("limits", {}), out)


if __name__ == "__main__":
    main()
