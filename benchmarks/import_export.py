"""Benchmark: `labelbot import` and `labelbot export` of 100,000 items from/to CSV, end to end.

Runs the real CLI in a subprocess (so start-up is included) against a fresh SQLite
database, repeats, and prints medians. Target: each within 10 s.

    .venv/bin/python benchmarks/import_export.py [--items 100000] [--repeats 3] [--database-url URL]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

WORDS = np.array(
    [
        "refund",
        "invoice",
        "crash",
        "login",
        "slow",
        "billing",
        "error",
        "payment",
        "app",
        "password",
        "card",
        "account",
    ]
)


def make_csv(path: Path, n: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    words = rng.choice(WORDS, size=(n, 30))
    pd.DataFrame(
        {
            "id": [f"item-{i}" for i in range(n)],
            "text": [" ".join(row) for row in words],
            "language": rng.choice(["en", "de", "fr"], size=n),
            "customer": rng.integers(1, 5000, size=n),
        }
    ).to_csv(path, index=False)


def timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(cmd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{result.stdout}\n{result.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file per repeat")
    args = parser.parse_args()
    labelbot = str(Path(sys.executable).with_name("labelbot"))
    imports, exports = [], []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        source = work / "items.csv"
        make_csv(source, args.items)
        config = work / "labelbot.yml"
        config.write_text(
            yaml.safe_dump(
                {
                    "projects": [
                        {
                            "key": "bench",
                            "name": "Bench",
                            "channel": "C0BENCH",
                            "labels": [{"value": v, "text": v.title()} for v in ("billing", "bug", "other")],
                            "experts": {"admins": ["U0ADMIN"]},
                        }
                    ]
                }
            )
        )
        for i in range(args.repeats):
            url = args.database_url or f"sqlite:///{work / f'bench{i}.db'}"
            env = {**os.environ, "LABELBOT_CONFIG": str(config), "DATABASE_URL": url}
            imports.append(timed([labelbot, "import", "bench", str(source)], env))
            exports.append(timed([labelbot, "export", "bench", "-o", str(work / "out.csv")], env))
            rows = sum(1 for _ in (work / "out.csv").open()) - 1
            if rows != args.items:
                sys.exit(f"export wrote {rows} rows, expected {args.items}")
    result = {
        "items": args.items,
        "repeats": args.repeats,
        "import_median_s": round(statistics.median(imports), 2),
        "export_median_s": round(statistics.median(exports), 2),
        "import_all_s": [round(x, 2) for x in imports],
        "export_all_s": [round(x, 2) for x in exports],
    }
    print(f"import {args.items:,} items from CSV: median {result['import_median_s']} s (target 10 s)")
    print(f"export {args.items:,} items to CSV:   median {result['export_median_s']} s (target 10 s)")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
