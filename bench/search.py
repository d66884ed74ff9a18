"""Search latency over 100,000 chunks in one agent, SQLite FTS5 and PostgreSQL tsvector/GIN.

Chunks (bench/corpus.py, seeded): 70% price-list rows, 25% catalogue paragraphs, 5% FAQ,
~74 words each, inserted straight into `chunks` with search_text from the analyzer (the
FTS5 triggers / generated tsvector column index them as in production). On PostgreSQL the
table is VACUUM ANALYZEd afterwards, as autovacuum would after such a load.

Queries: 1,000 from a seeded mix: inflected Russian words (30%), SKUs in several spellings
(25%), 2-5 word Russian/English questions (45%). Each is timed around
`botcraft.knowledge.search.search(session, agent_id, q, limit=5)`; the baseline is the same
number of `SELECT 1` through the same session, in the same run.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import insert, text

from bench.common import goal, make_settings, new_database_url, run_async, summary_ms, workdir, write_result
from bench.corpus import chunks, queries

N_CHUNKS = 100_000
N_QUERIES = 1000
TIME_BUDGET_S = 45  # per database: slow engines stop early, n says how many ran
BATCH = 5000


def _category(q: str) -> str:
    if any(ch.isdigit() for ch in q):
        return "sku"
    return "word" if " " not in q else "question"


async def _measure(kind: str, rows: list[tuple[str, str, dict[str, Any]]], qs: list[str]) -> dict[str, Any]:
    from bench.common import seed_owner
    from botcraft.db import Database
    from botcraft.knowledge.search import search
    from botcraft.models import Chunk, Document

    work = workdir(f"search-{kind}")
    url = await new_database_url(kind, work)
    make_settings(work / "data", url)
    db = Database(url)
    try:
        _, agent_id = await seed_owner(db)
        doc_ids = {}
        async with db.transaction() as session:
            for name, ftype in (("price.xlsx", "xlsx"), ("catalogue.pdf", "pdf"), ("faq.docx", "docx")):
                d = Document(
                    agent_id=agent_id,
                    filename=name,
                    file_path=name,
                    file_type=ftype,
                    size=1,
                    sha256=name.ljust(64, "0"),
                    status="ready",
                    is_processed=True,
                )
                session.add(d)
                await session.flush()
                doc_ids[ftype] = d.id
        t0 = time.perf_counter()
        async with db.transaction() as session:
            for start in range(0, len(rows), BATCH):
                batch = []
                for i, (body, search_text, source) in enumerate(rows[start : start + BATCH], start):
                    ftype = "xlsx" if "sheet" in source else "pdf" if i % 20 else "docx"
                    batch.append(
                        {
                            "document_id": doc_ids[ftype],
                            "agent_id": agent_id,
                            "ordinal": i,
                            "text": body,
                            "search_text": search_text,
                            "page": source.get("page"),
                            "sheet": source.get("sheet"),
                            "row_start": source.get("row_start"),
                            "row_end": source.get("row_end"),
                        }
                    )
                await session.execute(insert(Chunk), batch)
        load_s = time.perf_counter() - t0
        if not db.is_sqlite:
            async with db.engine.connect() as conn:
                auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await auto.execute(text("VACUUM ANALYZE chunks"))

        lat: list[float] = []
        by_cat: dict[str, list[float]] = {"word": [], "sku": [], "question": []}
        hits_total = 0
        empty = 0
        slowest: list[tuple[float, str]] = []
        base: list[float] = []
        async with db.transaction(write=False) as session:
            for q in qs[:30]:  # warm-up: caches and plans
                await search(session, agent_id, q, limit=5)
            budget_end = time.perf_counter() + TIME_BUDGET_S
            for q in qs:
                if time.perf_counter() > budget_end:
                    break
                t = time.perf_counter()
                hits = await search(session, agent_id, q, limit=5)
                dt = time.perf_counter() - t
                lat.append(dt)
                by_cat[_category(q)].append(dt)
                hits_total += len(hits)
                empty += not hits
                slowest.append((dt, q))
            select1 = text("SELECT 1")
            for _ in range(100):
                await session.execute(select1)
            for _ in lat:
                t = time.perf_counter()
                await session.execute(select1)
                base.append(time.perf_counter() - t)
        slowest.sort(reverse=True)
        s = summary_ms(lat)
        b = summary_ms(base)
        return {
            "load_seconds": round(load_s, 1),
            "search": s,
            "by_kind": {k: summary_ms(v) for k, v in by_cat.items() if v},
            "baseline_select1_same_session": b,
            "ratio_p50_to_select1": round(s["p50_ms"] / b["p50_ms"], 1),
            "ratio_p99_to_select1": round(s["p99_ms"] / b["p99_ms"], 1),
            "mean_hits": round(hits_total / len(lat), 2),
            "queries_without_hits": empty,
            "slowest": [{"ms": round(d * 1000, 2), "q": q} for d, q in slowest[:5]],
        }
    finally:
        await db.dispose()


def run() -> dict[str, Any]:
    from botcraft.language.analyzer import index_text

    t0 = time.perf_counter()
    rows = [(body, index_text(body), source) for body, source in chunks(N_CHUNKS)]
    analyse_s = time.perf_counter() - t0
    qs = queries(N_QUERIES, max_number=N_CHUNKS)
    figures = {kind: run_async(_measure(kind, rows, qs)) for kind in ("sqlite", "postgresql")}
    p99 = {k: v["search"]["p99_ms"] for k, v in figures.items()}
    return write_result(
        "search",
        {
            "setup": {
                "chunks": N_CHUNKS,
                "agent_count": 1,
                "mean_words_per_chunk": round(sum(len(r[0].split()) for r in rows) / len(rows), 1),
                "analyse_seconds": round(analyse_s, 1),
                "queries": N_QUERIES,
                "time_budget_s_per_database": TIME_BUDGET_S,
                "limit": 5,
                "query_mix": "30% inflected Russian words, 25% SKUs, 45% 2-5 word questions (RU/EN)",
            },
            **figures,
            "goal": goal(
                "search p99 <= 20 ms on SQLite and PostgreSQL", all(v <= 20 for v in p99.values()), p99_ms=p99
            ),
        },
    )
