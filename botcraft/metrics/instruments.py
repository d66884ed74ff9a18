"""The process's counters and histograms (prometheus-client).

Defined once at import; in multiprocess mode (PROMETHEUS_MULTIPROC_DIR) prometheus-client
writes each of them to a file of this process that the /metrics endpoint sums up.
Labels are always from small fixed sets (route templates, job kinds, channel names,
error codes), never ids or free text, so the number of series stays bounded.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from prometheus_client import Counter, Histogram

# Fewer buckets than the default 15: every observation updates each bucket's series.
_LATENCY_BUCKETS = (0.005, 0.025, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)
_SLOW_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

HTTP_REQUESTS = Counter(
    "botcraft_http_requests", "HTTP requests answered, by route template and status.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "botcraft_http_request_duration_seconds", "Time to answer an HTTP request, by route template.",
    ["method", "route"], buckets=_LATENCY_BUCKETS,
)
# A request no route took (404s, a 413 refused before routing).
UNROUTED = "unrouted"


def record_request(scope: MutableMapping[str, Any], status: int, seconds: float) -> None:
    """Count one answered request (called by the request middleware once the app has answered).

    The route is read from the `route` Starlette's router puts in the scope, so it is the
    template (`/api/agents/{agent_id}`, never `/api/agents/17`) and ids cannot multiply the
    series.
    """
    route = getattr(scope.get("route"), "path", None) or UNROUTED
    method = scope["method"]
    HTTP_REQUESTS.labels(method, route, str(status)).inc()
    HTTP_LATENCY.labels(method, route).observe(seconds)


JOB_CLAIM_LATENCY = Histogram(
    "botcraft_job_claim_latency_seconds", "From a job's run_at to a worker claiming it, by kind.",
    ["kind"], buckets=_LATENCY_BUCKETS,
)
JOBS_FINISHED = Counter(
    "botcraft_jobs_finished", "Job attempts that ended, by kind and outcome (done, retry, dead).",
    ["kind", "outcome"],
)
TURNS = Counter(
    "botcraft_turns", "Dialogue turns answered, by who answered (llm, offline, greeting).", ["answered_by"],
)
LLM_LATENCY = Histogram(
    "botcraft_llm_request_duration_seconds", "One call to the language model, retries included.",
    ["operation"], buckets=_SLOW_BUCKETS,
)
LLM_ERRORS = Counter("botcraft_llm_errors", "Calls to the language model that failed, by error code.", ["code"])
NOTIFICATIONS = Counter(
    "botcraft_notifications", "Owners' notices that ended, by how (telegram, email) and state (sent, failed).",
    ["channel", "state"],
)
SENDS = Counter("botcraft_sends", "Messages sent to a channel.", ["channel"])
SEND_ERRORS = Counter(
    "botcraft_send_errors", "Sends a channel refused, by kind (retry, blocked, window_closed, failed).",
    ["channel", "kind"],
)
