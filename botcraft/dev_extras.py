"""structlog, httpx and mako are imported without the dev tools' rich and pygments.

Each probes for them when imported: structlog to pretty-print tracebacks in its console
renderer, httpx for its command-line client, mako (alembic's templates) to colour its error
pages. None of those uses happens here (botcraft/logs.py formats exceptions before any
renderer; nothing runs httpx's CLI or renders a mako error), and rich and pygments are
installed only as dependencies of the dev tools (pytest, import-linter, schemathesis), yet
the probes brought some 100 modules and 7 MB of RSS into every serving process. They are
hidden for the probes only, so the tools still import them.
"""

from __future__ import annotations

import importlib
import sys

_PROBED = ("rich", "pygments")
_PROBING = ("httpx", "mako.exceptions", "structlog")


def import_probing_libraries() -> None:
    if all(name in sys.modules for name in _PROBING):
        return
    hidden = [name for name in _PROBED if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # `import rich` raises ImportError
    try:
        for name in _PROBING:
            importlib.import_module(name)
    finally:
        for name in hidden:
            del sys.modules[name]
