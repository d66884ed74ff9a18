"""The parser child dies with its server: `kill -9` of `botcraft serve` leaves no parser running."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import httpx
import psutil
import pytest

from tests import docgen
from tests.helpers import PASSWORD
from tests.service_process import ServiceProcess

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SIGKILL of a real server, on Linux")


def _parsers_of(pid: int) -> list[psutil.Process]:
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    return [c for c in children if "botcraft.knowledge.parse_child" in " ".join(c.cmdline())]


def _alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_the_parser_child_dies_when_its_server_is_killed(settings, tmp_path):
    # A price list of 40,000 rows: a few seconds of parsing on one core, and the server is
    # killed as soon as its parser child is seen.
    xlsx = docgen.make_big_xlsx(tmp_path / "прайс-лист.xlsx", rows=40_000, target_bytes=None)
    service = ServiceProcess(settings, tmp_path / "serve", WORKERS_IN_SERVE=1, MAX_UPLOAD_MB=20).start()
    try:
        with httpx.Client(base_url=service.url, timeout=60) as c:
            token = c.post("/api/auth/register", json={"email": "sklad@example.com", "password": PASSWORD})
            headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
            agent = c.post("/api/agents", headers=headers, json={"name": "Склад «Стройка»"}).json()
            uploaded = c.post(f"/api/agents/{agent['id']}/documents", headers=headers,
                              files={"file": (xlsx.name, xlsx.read_bytes(), "application/octet-stream")})
            assert uploaded.status_code == 201, uploaded.text
        deadline = time.monotonic() + 30
        while not (parsers := _parsers_of(service.pid)):
            assert time.monotonic() < deadline, f"no parser child started:\n{service.log()[-3000:]}"
            time.sleep(0.02)
        service.kill()
        deadline = time.monotonic() + 3
        while any(_alive(p) for p in parsers):
            assert time.monotonic() < deadline, "the parser child outlived its killed server"
            time.sleep(0.05)
    finally:
        service.stop()
        for leftover in _parsers_of(service.pid):
            leftover.kill()


def test_a_parser_child_started_by_a_parent_that_is_already_gone_exits_at_once(tmp_path):
    """The race the kernel cannot cover: the parent died before the child asked to be told."""
    pdf = docgen.make_pdf(tmp_path / "меню.pdf", ["Капучино — 250 рублей."])
    out = tmp_path / "chunks.jsonl"
    request = json.dumps({"path": str(pdf), "file_type": "pdf", "limits": {}, "out": str(out)}).encode()
    gone = subprocess.Popen([sys.executable, "-c", "pass"])  # noqa: S603
    gone.wait()
    child = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "botcraft.knowledge.parse_child", str(gone.pid)],
        input=request, capture_output=True, timeout=30, check=False,
    )
    assert child.returncode == 1, child.stderr
    assert not out.exists()
    # With its real parent alive, the same request is parsed.
    alive = subprocess.run(  # noqa: S603
        [sys.executable, "-c", "import os, subprocess, sys; sys.exit(subprocess.run([sys.executable, '-m', "
         "'botcraft.knowledge.parse_child', str(os.getpid())], input=sys.stdin.buffer.read()).returncode)"],
        input=request, capture_output=True, timeout=60, check=False,
    )
    assert alive.returncode == 0, alive.stderr
    assert "Капучино" in out.read_text(encoding="utf-8")
