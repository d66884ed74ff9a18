"""`GET /metrics`: the Prometheus text format, behind METRICS_TOKEN when it is set.

The process counters come from prometheus-client (summed over every process of the
machine in multiprocess mode); jobs and documents are counted in the database at each
scrape, so every process reports the same, true numbers.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import func, select

from botcraft.db import Database
from botcraft.errors import Unauthorized
from botcraft.models import Document, Job, utcnow

router = APIRouter(tags=["metrics"])

# Jobs that are done are history, not state: only these are counted.
JOB_STATES = ("queued", "running", "dead")


class _Snapshot:
    """Families computed before the scrape, handed to prometheus-client as a collector."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterator[Metric]:
        yield from self.families


async def database_families(db: Database) -> list[Metric]:
    jobs = GaugeMetricFamily("botcraft_jobs", "Jobs in the database, by kind and status.", labels=["kind", "status"])
    expired = GaugeMetricFamily(
        "botcraft_jobs_lease_expired",
        "Running jobs whose lease has run out (their worker died or hangs), by kind.", labels=["kind"],
    )
    documents = GaugeMetricFamily("botcraft_documents", "Documents, by status.", labels=["status"])
    async with db.transaction(write=False) as session:
        for kind, status, count in await session.execute(
            select(Job.kind, Job.status, func.count()).where(Job.status.in_(JOB_STATES)).group_by(Job.kind, Job.status)
        ):
            jobs.add_metric([kind, status], count)
        for kind, count in await session.execute(
            select(Job.kind, func.count())
            .where(Job.status == "running", Job.lease_expires_at < utcnow())
            .group_by(Job.kind)
        ):
            expired.add_metric([kind], count)
        for status, count in await session.execute(select(Document.status, func.count()).group_by(Document.status)):
            documents.add_metric([status], count)
    return [jobs, expired, documents]


def _process_registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return registry
    return REGISTRY


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    token = request.app.state.settings.metrics_token
    if token:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(given.encode(), token.encode()):
            raise Unauthorized(
                "Metrics are protected: send the header Authorization: Bearer <METRICS_TOKEN>.",
                code="metrics_token_required",
            )
    body = generate_latest(_process_registry())
    snapshot = CollectorRegistry()
    snapshot.register(_Snapshot(await database_families(request.app.state.db)))
    body += generate_latest(snapshot)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
