"""A worker SIGKILLed while embedding a document: another worker finishes the work, and every
vector is computed after the kill only for what was not stored yet, and stored exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from botcraft.models import ChunkVector, Document, Job
from tests import docgen
from tests.helpers import create_agent, sign_up, upload

ROWS = [["Артикул", "Товар", "Цена, ₽"]] + [[f"KR-{i}", f"Кружка керамическая номер {i}", 300 + i] for i in range(100)]


@pytest.fixture
def settings(settings, embeddings_fake):
    settings.embeddings = "openai"
    settings.embeddings_base_url = embeddings_fake.base_url + "/v1"
    settings.embeddings_model = "fake-embed-a"
    return settings


def _start_worker(settings, base_url: str, lease: float) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.embedding_worker", settings.resolved_database_url, str(settings.data_dir),
         base_url, str(lease)],
        cwd=Path(__file__).resolve().parents[2], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    assert process.stdout.readline().strip() == "ready"
    return process


async def _document(runtime, doc_id):
    async with runtime.db.transaction(write=False) as session:
        return await session.get(Document, doc_id)


@pytest.mark.timeout(600)  # two worker processes start, each importing the whole app
async def test_a_worker_killed_while_embedding_is_finished_by_another_exactly_once(
        app, client, settings, embeddings_fake, tmp_path):
    runtime = app.state.runtime
    headers = await sign_up(client)
    agent = await create_agent(client, headers)
    embeddings_fake.seconds_per_request = 0.4  # each batch of 32 rows takes a while
    first = _start_worker(settings, settings.embeddings_base_url, lease=1.5)
    second = None
    try:
        response = await upload(client, headers, agent["id"], docgen.make_xlsx(tmp_path / "прайс.xlsx", {"Прайс": ROWS}))
        doc_id = response.json()["id"]
        deadline = time.monotonic() + 240
        while True:  # kill once part of the document is embedded and committed
            doc = await _document(runtime, doc_id)
            if doc.embedding_status == "running" and 0 < doc.embedded_count < 100:
                break
            assert time.monotonic() < deadline, f"embedding never got under way: {doc.embedding_status}"
            await asyncio.sleep(0.02)
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
        stored_at_kill = (await _document(runtime, doc_id)).embedded_count
        requests_at_kill = len(embeddings_fake.requests)

        second = _start_worker(settings, settings.embeddings_base_url, lease=1.5)
        deadline = time.monotonic() + 240
        while (doc := await _document(runtime, doc_id)).embedding_status != "ready":
            assert time.monotonic() < deadline, f"the second worker did not finish: {doc.embedding_status}"
            await asyncio.sleep(0.1)

        assert doc.embedded_count == doc.embedding_total == 100
        async with runtime.db.transaction(write=False) as session:
            stored = (await session.execute(select(ChunkVector.ordinal_start, func.count())
                                            .where(ChunkVector.document_id == doc_id)
                                            .group_by(ChunkVector.ordinal_start))).all()
            job = (await session.execute(select(Job).where(Job.kind == "embed_document"))).scalar_one()
        assert len(stored) == 100 and all(count == 1 for _, count in stored)
        assert job.status == "done" and job.attempts == 2
        # After the kill only what was not stored is embedded again (plus the batch in flight).
        after = [text for r in embeddings_fake.requests[requests_at_kill:] for text in r.inputs]
        assert len(after) == 100 - stored_at_kill
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
