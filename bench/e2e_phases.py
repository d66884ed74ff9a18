"""BotCraft alone through chosen phases of channels_e2e, to compare two commits quickly.

    python -m bench.e2e_phases postgresql slow_model,throughput

Starts the same fakes, server and knowledge as `python -m bench channels_e2e`, runs its
warm-up and then the named phases (throughput, paced, slow_model) with its own `_phase`,
and prints one line of figures a phase (the webhooks' acknowledgements, the p50 from a post
to its answer and the serving process's peak RSS so far among them);
BENCH_COUNTERS_SQL=1 adds the statements of each phase, per answer, by their first words.
No peer and no result file: run it in a worktree of each commit, alternately, and compare
the lines (bench/README.md reports such pairs).
BENCH_E2E_UPDATES sets the throughput phase's updates, as for channels_e2e.
"""

from __future__ import annotations

import json
import os
import resource
import sys
from typing import Any

from bench import channels_e2e as e2e
from bench.common import peak_rss_mb, postgres, shutdown_postgres


def _sql(target: e2e.Target) -> dict[str, int]:
    tallies: dict[str, int] = json.loads(target.counters_path.read_text()).get("sql", {})
    return tallies


def _run_phase(name: str, target: e2e.Target, tg: Any, ids: e2e.Chats, llm_port: int) -> dict[str, Any]:
    if name == "throughput":
        return e2e._phase(target, tg, ids, e2e.N_THROUGHPUT, name=name)
    if name == "paced":
        return e2e._phase(target, tg, ids, e2e.N_PACED, rate=e2e.PACED_RATE, name=name)
    if name == "slow_model":
        e2e._set_llm_delay(llm_port, e2e.SLOW_DELAY_S)
        try:
            return e2e._phase(target, tg, ids, e2e.N_SLOW, concurrency=64, name="slow model")
        finally:
            e2e._set_llm_delay(llm_port, 0.0)
    raise SystemExit(f"unknown phase {name!r}: throughput, paced or slow_model")


def main(kind: str, phases: list[str]) -> None:
    from tests.fakes.graph_fake import GraphFake

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 16384)), hard))
    if kind == "postgresql":
        postgres()  # before pinning, as channels_e2e does: PostgreSQL may use both cores
    os.sched_setaffinity(0, {1})
    llm, llm_port = e2e._fake_llm()
    ids = e2e.Chats()
    tg, graph = e2e._timed_telegram_fake(), GraphFake()
    try:
        with tg.serve(), graph.serve():
            target = e2e.BotCraft(kind, tg, graph, f"http://127.0.0.1:{llm_port}/v1")
            try:
                e2e._phase(target, tg, ids, e2e.N_WARMUP, name="warm-up")
                for name in phases:
                    before = _sql(target)
                    figures = _run_phase(name, target, tg, ids, llm_port)
                    after = _sql(target)
                    line = {k: figures[k] for k in ("answered", "seconds_first_post_to_last_answer", "answers_per_s",
                                                    "server_cpu_ms_per_answer", "statements_per_answer",
                                                    "postgresql_statements_per_answer")}
                    line["acks_per_s"] = figures["ingress"]["acknowledged_per_s"]
                    line["ack_p50_ms"] = figures["ingress"]["ack_latency"]["p50_ms"]
                    line["answer_p50_ms"] = figures["post_to_answer_latency"]["p50_ms"]
                    line["peak_rss_mb_so_far"] = peak_rss_mb(target.process.pid)
                    print(name, json.dumps(line), flush=True)
                    for count, text in sorted(((v - before.get(k, 0), k) for k, v in after.items()), reverse=True):
                        if count >= 0.05 * figures["answered"]:
                            print(f"   {count / figures['answered']:6.2f} {text}", flush=True)
            finally:
                target.stop()
    finally:
        e2e.stop_process(llm)
        shutdown_postgres()


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("sqlite", "postgresql"):
        raise SystemExit("usage: python -m bench.e2e_phases sqlite|postgresql PHASE[,PHASE...]")
    main(sys.argv[1], sys.argv[2].split(","))
