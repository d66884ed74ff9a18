"""Every benchmark module imports, and `python -m bench` knows every runnable one.

bench/channels_e2e.py once stopped importing when a helper it used moved, and nothing noticed
until someone ran `make bench`.
"""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import bench
from bench.__main__ import BENCHMARKS

MODULES = sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if m.name != "__main__")


@pytest.mark.parametrize("name", MODULES)
def test_every_bench_module_imports(name: str) -> None:
    importlib.import_module(f"bench.{name}")


@pytest.mark.parametrize("name", BENCHMARKS)
def test_every_listed_benchmark_has_a_run_function(name: str) -> None:
    module = importlib.import_module(f"bench.{name}")
    assert callable(getattr(module, "run", None)), f"bench/{name}.py has no run()"
