"""Parse one document in a child process: `python -m botcraft.knowledge.parse_child`.

Reads {"path", "file_type", "limits"} as JSON on stdin and writes the chunks as JSON on
stdout, or {"error": reason} for a file that cannot be read. Running apart means a hostile
file can at worst kill this process: the parent enforces the time limit by killing it, and
the memory limit below keeps a decompression trick from taking the machine down.
"""

from __future__ import annotations

import gc
import json
import resource
import sys
from dataclasses import asdict
from pathlib import Path

MEMORY_LIMIT_BYTES = 2 * 1024 * 1024 * 1024


def _limit_memory() -> None:
    try:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
    except (ValueError, OSError):
        pass


def parse(path: Path, file_type: str, limits: dict[str, object]) -> dict[str, object]:
    from botcraft.knowledge.analyzer import index_text
    from botcraft.knowledge.chunking import chunk_passages
    from botcraft.knowledge.parsers import ExtractionError, ExtractLimits, extract

    try:
        extraction = extract(path, file_type, ExtractLimits(**limits))  # type: ignore[arg-type]
    except ExtractionError as exc:
        return {"error": exc.reason}
    except MemoryError:
        return {"error": "The file needs more memory to read than this server allows."}
    chunks = chunk_passages(extraction.passages)
    return {
        "pages": extraction.pages,
        "chunks": [{**asdict(c), "search_text": index_text(c.text)} for c in chunks],
    }


def main() -> None:
    _limit_memory()
    # A short-lived process that builds many small objects: the cyclic collector would
    # only spend time (about 15% of a large XLSX) finding nothing to free.
    gc.disable()
    request = json.load(sys.stdin)
    result = parse(Path(request["path"]), request["file_type"], request.get("limits", {}))
    json.dump(result, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
