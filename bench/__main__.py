"""Run the benchmarks: `python -m bench [name ...]` (default: all, cheapest first)."""

from __future__ import annotations

import importlib
import sys
import time
import traceback

from bench.common import shutdown_postgres

BENCHMARKS = [
    "auth",
    "ocr",
    "jobs",
    "search",
    "ingestion",
    "retrieval",
    "dialogue",
    "web",
    # Added by the channel issues (same run() protocol).
    "channels_ingress",
    "channels_e2e",
    # Search by meaning (issue 11).
    "meaning_engine",
    "meaning",
    "meaning_search",
    "meaning_cost",
    # Issue 12: the owner's notifications.
    "notifications",
    # Issue 14: four processes on PostgreSQL killed at random (also `make chaos`).
    "chaos",
]


def main(argv: list[str]) -> int:
    names = argv or BENCHMARKS
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from: {', '.join(BENCHMARKS)}")
        return 2
    failed: list[str] = []
    started = time.monotonic()
    try:
        for name in names:
            print(f"== {name}", flush=True)
            t0 = time.monotonic()
            try:
                module = importlib.import_module(f"bench.{name}")
                result = module.run()
                goal = result.get("goal", {})
                verdict = goal.get("pass")
                print(
                    f"   {name}: {'PASS' if verdict else 'FAIL' if verdict is False else 'n/a'}"
                    f" in {time.monotonic() - t0:.0f} s -> bench/results/{name}.json",
                    flush=True,
                )
            except Exception:  # noqa: BLE001 - one broken benchmark must not hide the others
                traceback.print_exc()
                failed.append(name)
    finally:
        shutdown_postgres()
    print(f"all done in {time.monotonic() - started:.0f} s" + (f"; errors in: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
