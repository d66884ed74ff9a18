"""/metrics with several processes: a `serve` reports what a separate `botcraft worker` did.

Both run with PROMETHEUS_MULTIPROC_DIR pointing at one directory (multiprocess mode of
prometheus-client); without it the worker's counts would be invisible to the scrape.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests import docgen
from tests.helpers import PASSWORD


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _sample(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return 0.0


@pytest.fixture
def processes(settings, tmp_path):
    multiproc = tmp_path / "prometheus"
    multiproc.mkdir()
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": settings.resolved_database_url, "DATA_DIR": str(settings.data_dir),
        "JWT_SECRET_KEY": settings.jwt_secret_key, "ENCRYPTION_KEY": settings.encryption_key,
        "PROMETHEUS_MULTIPROC_DIR": str(multiproc), "WORKERS_IN_SERVE": "0", "TELEGRAM_POLLING": "false",
        "TELEGRAM_TOKEN": "", "OPENAI_API_KEY": "", "OPENAI_BASE_URL": "", "LOG_LEVEL": "WARNING",
        "METRICS_TOKEN": "scrape-token-for-tests",
    }
    serve = subprocess.Popen([sys.executable, "-m", "botcraft.cli", "serve", "--port", str(port)], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker = subprocess.Popen([sys.executable, "-m", "botcraft.cli", "worker"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        raise AssertionError("botcraft serve did not start")
    yield base
    for process in (serve, worker):
        process.terminate()
        process.wait(timeout=20)


def test_serve_reports_the_jobs_a_separate_worker_ran(processes, tmp_path):
    base = processes
    with httpx.Client(base_url=base, timeout=30) as client:
        token = client.post("/api/auth/register", json={"email": "owner@example.com", "password": PASSWORD})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        agent = client.post("/api/agents", headers=headers, json={
            "name": "Пекарня", "business_description": "Хлеб и торты на заказ в Твери"}).json()
        xlsx = docgen.make_xlsx(tmp_path / "меню.xlsx", {"Меню": [["Изделие", "Цена, ₽"], ["Хлеб бородинский", 95]]})
        doc = client.post(f"/api/agents/{agent['id']}/documents", headers=headers,
                          files={"file": ("меню.xlsx", xlsx.read_bytes(), "application/octet-stream")}).json()
        deadline = time.monotonic() + 60
        while client.get(f"/api/agents/{agent['id']}/documents/{doc['id']}", headers=headers).json()["status"] \
                != "ready":
            assert time.monotonic() < deadline, "the worker did not process the document"
            time.sleep(0.2)
        chat = client.post(f"/api/agents/{agent['id']}/chat", headers=headers,
                           json={"message": "Сколько стоит бородинский хлеб?"})
        assert chat.status_code == 200

        assert client.get("/metrics").status_code == 401
        text = client.get("/metrics", headers={"Authorization": "Bearer scrape-token-for-tests"}).text
    # Counted in the worker process, reported by serve:
    assert _sample(text, "botcraft_jobs_finished_total", kind="process_document", outcome="done") == 1
    assert _sample(text, "botcraft_job_claim_latency_seconds_count", kind="process_document") == 1
    # Counted in serve itself, and read from the database at the scrape:
    assert _sample(text, "botcraft_turns_total", answered_by="offline") == 1
    assert _sample(text, "botcraft_http_requests_total", method="POST", route="/api/agents/{agent_id}/documents",
                   status="201") == 1
    assert _sample(text, "botcraft_documents", status="ready") == 1
