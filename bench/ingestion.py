"""Issue 3: a 10 MB text PDF and a 10 MB XLSX from upload to `ready`, against bare
extraction by the same library on the same file, and the peak memory of the server.

The server is `botcraft serve` as in production (bench/server.py: uvicorn, one process,
SQLite, its in-process job workers); the upload is a real multipart POST over HTTP, and
`ready` is polled every 50 ms. Peak RSS is sampled every 10 ms over the server process and
all its children (the parse child). The baseline runs in a fresh process and times only
the extraction: pypdfium2 text of every page / python-calamine reading every row of
every sheet.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from bench.common import (
    PYTHON,
    ROOT,
    RSSSampler,
    free_port,
    goal,
    make_settings,
    new_database_url,
    run_async,
    stop_process,
    wait_port,
    workdir,
    write_result,
)

PASSWORD = "надёжный-пароль-42"

_BARE = {
    "pdf": """
import sys, time, resource, pypdfium2 as pdfium
t = time.perf_counter()
pdf = pdfium.PdfDocument(sys.argv[1]); chars = 0
for i in range(len(pdf)):
    page = pdf[i]; tp = page.get_textpage(); chars += len(tp.get_text_range()); tp.close(); page.close()
pages = len(pdf); pdf.close()
print(time.perf_counter() - t, chars, pages, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
""",
    "xlsx": """
import sys, time, resource
from python_calamine import CalamineWorkbook
t = time.perf_counter()
rows = 0
with CalamineWorkbook.from_path(sys.argv[1]) as wb:
    for name in wb.sheet_names:
        rows += len(wb.get_sheet_by_name(name).to_python())
print(time.perf_counter() - t, rows, 0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
""",
}


def _bare(kind: str, path: Path, runs: int = 3) -> dict[str, Any]:
    times, maxrss = [], 0
    units = 0
    for _ in range(runs):
        process = subprocess.Popen([PYTHON, "-c", _BARE[kind], str(path)], stdout=subprocess.PIPE, text=True, cwd=ROOT)
        with RSSSampler(process.pid, interval=0.01) as rss:
            stdout, _ = process.communicate(timeout=120)
        out = stdout.split()
        times.append(float(out[0]))
        units = int(out[1]) if kind == "xlsx" else int(out[2])
        maxrss = max(maxrss, rss.peak_total)
    return {
        "seconds_min": round(min(times), 3),
        "seconds_all": [round(t, 3) for t in times],
        ("rows" if kind == "xlsx" else "pages"): units,
        "peak_rss_mb": round(maxrss / 2**20, 1),
    }


def _make_files(work: Path) -> dict[str, Path]:
    from tests.docgen import make_big_pdf, make_big_xlsx

    cache = ROOT / "bench" / ".cache"
    cache.mkdir(exist_ok=True)
    pdf, xlsx = cache / "big.pdf", cache / "big.xlsx"
    if not pdf.exists():
        make_big_pdf(pdf)
    if not xlsx.exists():
        try:  # just under MAX_UPLOAD_MB (10 MiB): a file over it is refused with 413, as it should be
            make_big_xlsx(xlsx, rows=50_000, target_bytes=int(9.9 * 2**20))
        except TypeError:  # an older docgen without target_bytes
            make_big_xlsx(xlsx, rows=50_000)
    return {"pdf": pdf, "xlsx": xlsx}


def run() -> dict[str, Any]:
    work = workdir("ingestion")
    t0 = time.perf_counter()
    files = _make_files(work)
    generate_s = time.perf_counter() - t0
    url = run_async(new_database_url("sqlite", work))
    settings = make_settings(work / "data", url)
    env = {
        **os.environ,
        "ENV": "development",
        "DATA_DIR": str(work / "data"),
        "DATABASE_URL": url,
        "JWT_SECRET_KEY": settings.jwt_secret_key,
        "ENCRYPTION_KEY": settings.encryption_key,
        "OPENAI_API_KEY": "",
        "OPENAI_BASE_URL": "",
        "TELEGRAM_TOKEN": "",
    }
    port = free_port()
    server = subprocess.Popen(
        [PYTHON, "-m", "bench.server", "app", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    results: dict[str, Any] = {}
    try:
        wait_port(port, server)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
            r = client.post("/api/auth/register", json={"email": "owner@example.com", "password": PASSWORD})
            r.raise_for_status()
            headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
            agent = client.post(
                "/api/agents",
                headers=headers,
                json={
                    "name": "Магазин",
                    "business_description": "Интернет-магазин одежды и товаров для дома",
                    "capabilities": "Консультации",
                    "tone": "дружелюбный",
                },
            ).json()
            time.sleep(1.0)
            import psutil

            idle_rss = psutil.Process(server.pid).memory_info().rss / 2**20
            for kind, path in files.items():
                data = path.read_bytes()
                with RSSSampler(server.pid, interval=0.01) as rss:
                    t0 = time.perf_counter()
                    r = client.post(
                        f"/api/agents/{agent['id']}/documents",
                        headers=headers,
                        files={"file": (path.name, data, "application/octet-stream")},
                    )
                    r.raise_for_status()
                    upload_s = time.perf_counter() - t0
                    doc_id = r.json()["id"]
                    doc: dict[str, Any] = {}
                    deadline = time.monotonic() + 170
                    while time.monotonic() < deadline:
                        doc = client.get(f"/api/agents/{agent['id']}/documents/{doc_id}", headers=headers).json()
                        if doc["status"] in ("ready", "failed"):
                            break
                        time.sleep(0.05)
                    total_s = time.perf_counter() - t0
                bare = _bare(kind, path)
                results[kind] = {
                    "file_mb": round(len(data) / 2**20, 2),
                    "status": doc.get("status"),
                    "error": doc.get("error"),
                    "pages": doc.get("pages"),
                    "chunks": doc.get("chunk_count"),
                    "upload_http_seconds": round(upload_s, 3),
                    "upload_to_ready_seconds": round(total_s, 3),
                    "baseline_bare_extraction": bare,
                    "ratio_to_bare_extraction": round(total_s / bare["seconds_min"], 2),
                    "memory": {"server_idle_rss_mb": round(idle_rss, 1), **rss.as_dict()},
                }
    finally:
        stop_process(server)
    ratio_ok = all(v["ratio_to_bare_extraction"] <= 1.5 for v in results.values())
    mem_ok = all(v["memory"]["peak_total_mb"] < 500 for v in results.values())
    ready = all(v["status"] == "ready" for v in results.values())
    return write_result(
        "ingestion",
        {
            "setup": {
                "server": "uvicorn, 1 process (bench/server.py as `botcraft serve`), SQLite, 2 in-process workers",
                "upload": "multipart POST over loopback HTTP (httpx)",
                "poll_interval_s": 0.05,
                "files": "tests/docgen.make_big_pdf (500 pages) and make_big_xlsx(rows>=50_000, ~9.9 MiB), cached in bench/.cache",
                "generate_seconds": round(generate_s, 1),
            },
            **results,
            "goal": goal(
                "upload->ready <= 1.5x bare extraction; peak RSS (server + parse child) < 500 MB",
                ratio_ok and mem_ok and ready,
                ratio_pass=ratio_ok,
                memory_pass=mem_ok,
                all_ready=ready,
            ),
        },
    )


if __name__ == "__main__":
    print(json.dumps(run(), indent=2, ensure_ascii=False))
