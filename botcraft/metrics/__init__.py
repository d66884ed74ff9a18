"""Prometheus metrics at `/metrics`: what each process counts, and what the database holds.

Owns no tables; reads `jobs` and `documents` at scrape time. May import botcraft.config,
botcraft.db and botcraft.models only; every domain may import `botcraft.metrics.instruments`
(which imports nothing of ours) to count at its own seams.

- instruments.py: the counters and histograms, counted where the work happens: the request
  middleware (botcraft.middleware, which also logs each request: HTTP requests by route
  template, never the raw path, and status), the job queue and worker, the LLM provider,
  the sender's send, the turn.
- router.py: `GET /metrics`, behind METRICS_TOKEN when set; adds the gauges read from the
  database at scrape time (jobs by kind and status, documents by status), so they are right
  whichever process answers.

Several processes on one machine: set PROMETHEUS_MULTIPROC_DIR to an empty directory shared
by all of them (emptied before they start); each process then writes its counters there
and any `serve` process's /metrics reports the sum over all of them, `botcraft worker`
processes included. Without it, each process reports its own counters.
"""
