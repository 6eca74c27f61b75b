"""Benchmark: storing model scores beside a process that writes to the same SQLite database.

`store_scores` (label, confidence and priority on the items) and `store_ranks` (the new dispatch
ranking, then deleting the old one) write in batches with short pauses so that label clicks are not
held up for the whole write. This measures both sides: how long storing N items' scores and ranking
them takes, and how long a second process that runs one small write transaction every 10 ms (a
stand-in for the bot's clicks, through the same `session_scope`) waits for each, for several pause
settings. The items hold ~30-word texts, as real ones do.

    .venv/bin/python benchmarks/score_store_contention.py [--items 1000000] [--pauses 0.01 0 0.05]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

__all__ = ["main"]

WRITE_EVERY_S = 0.01


def writer(db_path: Path, stop: Path, out: Path) -> None:
    """The competing process: one small write transaction every 10 ms until ``stop`` exists."""
    from sqlalchemy import text

    from storage.db import make_engine, make_session_factory, session_scope

    factory = make_session_factory(make_engine(f"sqlite:///{db_path}"))
    waits: list[float] = []
    while not stop.exists():
        began = time.perf_counter()
        with session_scope(factory) as session:
            session.execute(text("UPDATE items SET revision = revision + 1 WHERE id = 1"))
        waits.append(time.perf_counter() - began)
        time.sleep(WRITE_EVERY_S)
    out.write_text(json.dumps(waits))


def run(n: int, pause: float, work: Path) -> dict[str, float]:
    from model_scoring import item_database

    from bot.learning.corpora import synthetic_texts
    from bot.model.scoring import store_ranks
    from storage import bulk

    db_path, stop, out = work / f"p{pause}.db", work / f"p{pause}.stop", work / f"p{pause}.json"
    factory, ids = item_database(db_path, synthetic_texts(n, seed=2, words_per_text=30))
    store_ranks(factory, 1, ids, ids, np.random.default_rng(1).random(n))  # the one to replace
    proc = subprocess.Popen([sys.executable, __file__, "--writer", str(db_path), str(stop), str(out)])
    try:
        time.sleep(3)  # the writer is running
        bulk.SCORE_PAUSE_MAX = pause
        priority = np.random.default_rng(0).random(n)
        began = time.perf_counter()
        bulk.store_scores(factory, ids, ["a"] * n, priority, priority, 1)
        store_s = time.perf_counter() - began
        store_ranks(factory, 1, ids, ids, priority)
        rank_s = time.perf_counter() - began - store_s
    finally:
        stop.touch()
        proc.wait(timeout=60)
    waits = sorted(json.loads(out.read_text()))
    return {
        "pause_max_s": pause,
        "store_s": round(store_s, 1),
        "rank_s": round(rank_s, 1),
        "writes": len(waits),
        "wait_median_ms": round(statistics.median(waits) * 1000, 1),
        "wait_p99_ms": round(waits[max(0, int(len(waits) * 0.99) - 1)] * 1000, 1),
        "wait_max_ms": round(waits[-1] * 1000, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--pauses", type=float, nargs="+", default=[0.01, 0.0, 0.05])
    parser.add_argument("--writer", nargs=3, metavar=("DB", "STOP", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.writer:
        writer(*(Path(p) for p in args.writer))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        for pause in args.pauses:
            row = run(args.items, pause, Path(tmp))
            print(
                f"{args.items:,} items, pause <= {pause * 1000:g} ms: store {row['store_s']} s, rank "
                f"{row['rank_s']} s; the other "
                f"writer's {row['writes']} writes waited median {row['wait_median_ms']} ms, p99 "
                f"{row['wait_p99_ms']} ms, max {row['wait_max_ms']} ms"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
