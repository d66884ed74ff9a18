"""The serving process does not carry the dev tools' rich and pygments (botcraft/dev_extras.py):
structlog, httpx and mako probed for them, 7 MB of RSS. The tools can still import them, and a
logged exception still shows its traceback."""

from __future__ import annotations

import subprocess
import sys

_APP_IMPORTED = """
import sys
import botcraft.app
print(sorted(name for name in sys.modules if name.split(".")[0] in ("rich", "pygments")))
import structlog, httpx
from botcraft.logs import configure_logging
configure_logging(json_logs=False)
try:
    raise ValueError("счёт не найден")
except ValueError:
    structlog.get_logger("botcraft.test").exception("оплата не прошла")
import pygments.lexers, rich.console
print("the tools import them:", rich.console.Console.__name__)
"""


def test_the_app_imports_without_rich_and_pygments_and_the_tools_still_can():
    done = subprocess.run([sys.executable, "-c", _APP_IMPORTED], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    first_line, last_line = done.stdout.strip().splitlines()
    assert first_line == "[]"
    assert last_line == "the tools import them: Console"
    assert "оплата не прошла" in done.stderr
    assert "Traceback (most recent call last)" in done.stderr  # plain, as botcraft/logs.py formats it
    assert "ValueError: счёт не найден" in done.stderr
