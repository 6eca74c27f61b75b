"""Benchmark: the whole quality report over a million labels, read from a labelbot database.

Builds once (cached under ``benchmarks/out/``, git-ignored) a SQLite labelbot database
through the real schema (``storage.db.make_engine`` + ``ensure_schema``, rows inserted with
Core executemany): one project with 1,000,000 current labels over 300,000 items by 200
annotators, 5 labels -- the export of ``benchmarks/quality_metrics.py`` (annotators of
varying activity and accuracy, 3-4 labels per item, 2 % gold items) laid out as the bot
stores it: items resolved by consensus with their final label, a few escalated (most
decided by an expert, some still open), audits of resolved items, a trained model's
predictions, and the append-only history (an event per label and per status change). The
matching project configuration goes through ``bot.config.parse_config``.

Then times, as the median of ``--repeats`` runs (the machine is shared and noisy):

* read: :func:`bot.reports.load_labels` in a session;
* computation: what :func:`bot.reports.build_report` does with the loaded labels -- encode
  them once, :func:`bot.quality.summary.summarize_quality`, and Dawid-Skene run to
  convergence (:func:`bot.reports._dawid_skene`) -- target 2 s;
* end to end: ``build_report(session, project, project_id, Period())`` in a
  ``session_scope``, SQL included -- target 5 s;
* the reference libraries on the same numbers where feasible: the ``krippendorff``
  package, statsmodels' ``fleiss_kappa`` (items with exactly three labels),
  scikit-learn's ``cohen_kappa_score`` over sampled annotator pairs (extrapolated), all via
  ``benchmarks/quality_metrics.py``; and crowd-kit's ``DawidSkene`` when it can be imported
  (it is not a dependency: put it on ``PYTHONPATH``), with its defaults (it stops once its
  loss gains less than 1e-5) on 300,000 labels and on all of them, and with
  ``--crowdkit-converged`` also run to tol=1e-10 on 300,000 (minutes).

Each round times every step once, so that the machine's changing load falls on all of
them alike; the table gives medians over the rounds, wall time and (in brackets) CPU
time. Also timed for comparison: plain (unaccelerated) EM, ``DawidSkene().fit``. Prints a
table and, last, one JSON line. Not a test: run it by hand,

    PYTHONPATH=<dir with crowd-kit> .venv/bin/python benchmarks/quality_report.py \\
        [--repeats 5] [--rebuild] [--no-reference] [--crowdkit-converged]
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import platform
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from quality_metrics import LABELS, generate_export, run_references

from bot.config import ProjectConfig, parse_config
from bot.quality import DawidSkene, LabelData, summarize_quality
from bot.reports import Period, _dawid_skene, build_report, load_labels
from storage.db import ensure_schema, make_engine, make_session_factory, session_scope
from storage.models import (
    Audit,
    Escalation,
    Item,
    ItemEvent,
    Label,
    ModelVersion,
    Project,
)

__all__ = ["build_database", "main", "project_config"]

OUT = Path(__file__).resolve().parent / "out"
PROJECT = "support"
END = datetime(2025, 6, 2, tzinfo=UTC)  # the data covers the 26 weeks before
WEEKS = 26
EXPERTS = ["U0EXPERT01", "U0EXPERT02", "U0EXPERT03"]
BATCH = 50_000
DATA_VERSION = 2  # part of the cached database's name: bump when build_database changes


def project_config(annotators: list[str]) -> ProjectConfig:
    """The project's entry of a labelbot.yml, validated like the real file."""
    raw = {
        "projects": [
            {
                "key": PROJECT,
                "name": "Support tickets",
                "channel": "C0SUPPORT1",
                "labels": [{"value": str(v), "text": str(v).title()} for v in LABELS],
                "annotators_per_item": {"min": 3, "max": 4},
                "agreement": 0.66,
                "annotators": annotators,
                "experts": {"default": EXPERTS, "admins": EXPERTS[:1]},
                "quality": {"gold_rate": 0.02, "audit_rate": 0.01, "min_pair_overlap": 10},
                "digest": {"channel": "C0DIGEST01"},
                "model": {"enabled": True},
            }
        ]
    }
    return parse_config(raw, "benchmark labelbot.yml").project(PROJECT)


def _times(seconds: np.ndarray) -> list[datetime]:
    """Seconds before END as aware UTC datetimes (what the UTCDateTime columns take)."""
    stamps = pd.to_datetime(END) - pd.to_timedelta(np.round(seconds, 3), unit="s")
    return list(stamps.to_pydatetime())


def _insert(engine: Engine, table: Any, rows: list[dict[str, Any]]) -> None:
    """Core executemany in big batches, one transaction per batch."""
    for start in range(0, len(rows), BATCH):
        with engine.begin() as conn:
            conn.execute(table.insert(), rows[start : start + BATCH])


def build_database(path: Path, n_items: int, n_users: int, n_labels: int, seed: int) -> dict[str, Any]:
    """Create the database at ``path`` (written next to it, renamed when complete)."""
    rng = np.random.default_rng(seed + 1)
    export = generate_export(n_items, n_users, n_labels, seed)
    # Per item: the final and gold label generate_export put on its rows.
    per_item = export.drop_duplicates("item_id").set_index("item_id")
    per_item = per_item.loc[pd.Index(sorted(per_item.index))]
    external = per_item.index.to_numpy(dtype=object)
    n = len(external)
    position = pd.Series(np.arange(n), index=per_item.index)
    item_of_row = position.loc[export["item_id"]].to_numpy()

    # Timeline: items imported over the window; each label a little after the previous
    # one on the item (minutes to hours); items resolved with their last label.
    window = WEEKS * 7 * 86400.0
    imported = rng.uniform(window * 0.02, window, n)  # seconds before END
    order = np.argsort(item_of_row, kind="stable")  # rows grouped by item
    grouped = item_of_row[order]
    starts = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]])
    sizes = np.diff(np.r_[starts, len(order)])
    gaps = rng.exponential(3600.0, len(order))
    cumulative = np.cumsum(gaps)
    within = cumulative - np.repeat(cumulative[starts] - gaps[starts], sizes)  # delay since import
    labelled = np.empty(len(order))  # seconds before END
    labelled[order] = np.maximum(imported[grouped] - within, 1.0)
    last_label = np.full(n, np.inf)
    np.minimum.at(last_label, item_of_row, labelled)  # the latest label: fewest seconds before END

    final = np.array([v if isinstance(v, str) else None for v in per_item["final_label"]], dtype=object)
    gold = np.array([v if isinstance(v, str) else None for v in per_item["gold_label"]], dtype=object)
    votes = export.groupby(["item_id", "label"]).size().unstack(fill_value=0).reindex(per_item.index)
    share = (votes.max(axis=1) / votes.sum(axis=1)).to_numpy()
    # A few escalations, among the items with the weakest agreement: 85 % decided.
    weak = np.flatnonzero(share < 0.66)
    escalated = rng.choice(weak, size=min(len(weak), n // 50), replace=False)
    decided = escalated[rng.random(len(escalated)) < 0.85]
    still_open = np.setdiff1d(escalated, decided)
    majority = votes.columns.to_numpy(dtype=object)[votes.to_numpy().argmax(axis=1)]
    final[decided] = majority[decided]  # the expert's decision (the data has no truth to use)
    final[still_open] = None
    status = np.where(pd.isna(final), "open", "resolved").astype(object)
    status[still_open] = "escalated"
    resolution = np.where(status == "resolved", "consensus", None).astype(object)
    resolution[decided] = "expert"
    model_label = np.where(
        rng.random(n) < 0.85, np.where(pd.isna(final), "other", final), LABELS[rng.integers(0, 5, n)]
    )
    has_model = rng.random(n) < 0.8

    engine = make_engine(f"sqlite:///{path}")
    ensure_schema(engine)
    created = END - timedelta(weeks=WEEKS + 1)
    with engine.begin() as conn:
        project_id = conn.execute(
            Project.__table__.insert().values(key=PROJECT, created_at=created)
        ).inserted_primary_key[0]
        conn.execute(
            ModelVersion.__table__.insert(),
            [
                {
                    "project_id": project_id,
                    "version": v,
                    "path": f"models/{PROJECT}-v{v}.joblib",
                    "status": "trained",
                    "cv_accuracy": 0.8 + 0.01 * v,
                    "cv_macro_f1": 0.78 + 0.01 * v,
                    "n_labels": 200_000 * v,
                    "created_at": END - timedelta(weeks=8 - v),
                }
                for v in (1, 2, 3)
            ],
        )

    imported_at = _times(imported)
    resolved_at = _times(last_label)
    items = []
    for i in range(n):
        done = status[i] == "resolved"
        items.append(
            {
                "project_id": project_id,
                "external_id": external[i],
                "text": f"Ticket {external[i]}: customer writes about an issue with their account.",
                "meta": {"language": "en", "customer": int(i % 5000)},
                "gold_label": gold[i],
                "content_hash": hashlib.sha256(str(external[i]).encode()).hexdigest(),
                "import_seq": i + 1,
                "status": status[i],
                "resolution": resolution[i],
                "final_label": final[i],
                "agreement": float(share[i]) if done else None,
                "round": 1,
                "channel": "C0SUPPORT1",
                "message_ts": f"{1700000000 + i}.{i % 1000000:06d}",
                "message_dirty": False,
                "revision": 3,
                "posted_at": imported_at[i],
                "escalated_at": None,
                "resolved_at": resolved_at[i] if done else None,
                "priority": 0.0,
                "model_label": model_label[i] if has_model[i] else None,
                "model_confidence": float(rng.uniform(0.3, 1.0)) if has_model[i] else None,
                "model_version": 3 if has_model[i] else None,
                "created_at": imported_at[i],
                "updated_at": resolved_at[i] if done else imported_at[i],
            }
        )
    _insert(engine, Item.__table__, items)
    del items
    with engine.connect() as conn:
        ids = dict(conn.execute(select(Item.external_id, Item.id).where(Item.project_id == project_id)).all())
    item_db = np.array([ids[e] for e in external], dtype=np.int64)

    # Labels, in the order they were given.
    time_order = np.argsort(-labelled, kind="stable")
    label_at = _times(labelled[time_order])
    users = export["user_id"].to_numpy(dtype=object)[time_order]
    values = export["label"].to_numpy(dtype=object)[time_order]
    row_items = item_db[item_of_row[time_order]]
    row_gold = gold[item_of_row[time_order]]
    _insert(
        engine,
        Label.__table__,
        [
            {
                "item_id": int(row_items[j]),
                "user_id": users[j],
                "value": values[j],
                "source": "slack",
                "created_at": label_at[j],
                "updated_at": label_at[j],
            }
            for j in range(len(row_items))
        ],
    )

    # History: queued per item, an event per label, resolved / escalated / decided.
    events: list[dict[str, Any]] = []

    def event(i: int, actor: str, action: str, at: datetime, label: Any = None, detail: Any = None) -> None:
        events.append(
            {
                "item_id": int(item_db[i]),
                "project_id": project_id,
                "actor": actor,
                "action": action,
                "label": label,
                "previous_label": None,
                "round": 1,
                "detail": detail,
                "created_at": at,
            }
        )

    for i in range(n):
        event(i, "labelbot", "queued", imported_at[i])
    for j in range(len(row_items)):
        events.append(
            {
                "item_id": int(row_items[j]),
                "project_id": project_id,
                "actor": users[j],
                "action": "label",
                "label": values[j],
                "previous_label": None,
                "round": 1,
                "detail": None if row_gold[j] is None else {"gold_correct": values[j] == row_gold[j]},
                "created_at": label_at[j],
            }
        )
    escalations = []
    hours = rng.lognormal(np.log(6.0), 1.0, len(escalated))
    decided_set = set(decided.tolist())
    for i, h in zip(escalated.tolist(), hours, strict=True):
        at = resolved_at[i]
        event(i, "labelbot", "escalated", at, detail={"reason": "disagreement", "experts": EXPERTS})
        is_decided = i in decided_set
        decided_at = min(at + timedelta(hours=float(h)), END - timedelta(minutes=1))
        if is_decided:
            event(i, EXPERTS[i % 3], "decided", decided_at, label=final[i])
        escalations.append(
            {
                "item_id": int(item_db[i]),
                "round": 1,
                "reason": "disagreement",
                "note": None,
                "raised_by": None,
                "suggested_label": None,
                "experts": EXPERTS,
                "status": "decided" if is_decided else "open",
                "thread_ts": None,
                "decided_by": EXPERTS[i % 3] if is_decided else None,
                "decided_label": final[i] if is_decided else None,
                "decision_note": None,
                "edge_case": False,
                "created_at": at,
                "decided_at": decided_at if is_decided else None,
            }
        )
    consensus = np.flatnonzero(resolution == "consensus")
    for i in consensus.tolist():
        event(i, "labelbot", "resolved", resolved_at[i], label=final[i], detail={"resolution": "consensus"})
    audited = rng.choice(consensus, size=len(consensus) // 100, replace=False)
    audits = []
    for i in audited.tolist():
        agrees = bool(rng.random() < 0.94)
        label = final[i] if agrees else str(LABELS[(list(LABELS).index(final[i]) + 1) % len(LABELS)])
        done_at = min(resolved_at[i] + timedelta(days=1), END - timedelta(minutes=1))
        event(i, EXPERTS[i % 3], "audited", done_at, label=label)
        audits.append(
            {
                "item_id": int(item_db[i]),
                "resolution": "consensus",
                "audited_label": final[i],
                "expert": EXPERTS[i % 3],
                "status": "done",
                "channel": "C0AUDIT001",
                "message_ts": None,
                "label": label,
                "agrees": agrees,
                "created_at": resolved_at[i],
                "done_at": done_at,
            }
        )
    events.sort(key=lambda e: e["created_at"])
    _insert(engine, ItemEvent.__table__, events)
    _insert(engine, Escalation.__table__, escalations)
    _insert(engine, Audit.__table__, audits)
    engine.dispose()
    with closing(sqlite3.connect(path)) as conn:  # fold the WAL into the file before the rename
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return {
        "items": n,
        "labels": len(row_items),
        "events": len(events),
        "escalations": len(escalations),
        "audits": len(audits),
        "annotators": sorted(set(export["user_id"])),
    }


def timed(fn: Callable[[], Any], repeats: int) -> tuple[float, float, Any, list[float]]:
    """Median wall and CPU time over ``repeats`` runs, the last result, and every wall time."""
    walls, cpus = [], []
    result = None
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn()
        cpus.append(time.process_time() - cpu)
        walls.append(time.perf_counter() - wall)
    return statistics.median(walls), statistics.median(cpus), result, walls


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=300_000)
    parser.add_argument("--annotators", type=int, default=200)
    parser.add_argument("--labels", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached database")
    parser.add_argument("--no-reference", action="store_true", help="skip the reference libraries")
    parser.add_argument("--sklearn-pairs", type=int, default=300, help="pairs to time with sklearn")
    parser.add_argument("--crowdkit-repeats", type=int, default=1)
    parser.add_argument(
        "--crowdkit-converged",
        action="store_true",
        help="also crowd-kit to tol=1e-10 on 300,000 labels (minutes)",
    )
    args = parser.parse_args(argv)

    OUT.mkdir(exist_ok=True)
    path = OUT / f"quality_report_v{DATA_VERSION}_{args.labels}_{args.items}_{args.annotators}_{args.seed}.db"
    meta_path = path.with_suffix(".json")
    if args.rebuild or not path.exists() or not meta_path.exists():
        for old in (path, meta_path, *OUT.glob(path.name + ".tmp*")):
            old.unlink(missing_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        start = time.perf_counter()
        meta = build_database(tmp, args.items, args.annotators, args.labels, args.seed)
        meta["build_seconds"] = round(time.perf_counter() - start, 1)
        tmp.rename(path)
        meta_path.write_text(json.dumps(meta))
    meta = json.loads(meta_path.read_text())
    project = project_config(meta["annotators"])
    engine = make_engine(f"sqlite:///{path}")
    ensure_schema(engine)
    factory = make_session_factory(engine)
    with session_scope(factory) as session:
        project_id = session.scalar(select(Project.id).where(Project.key == PROJECT))
        size = session.execute(
            text("SELECT page_count * page_size FROM pragma_page_count, pragma_page_size")
        ).scalar()
    print(
        f"database: {path} ({size / 1e6:.0f} MB; built in {meta['build_seconds']} s): {meta['labels']:,} labels, "
        f"{meta['items']:,} items, {len(meta['annotators'])} annotators, {meta['events']:,} events, "
        f"{meta['escalations']:,} escalations, {meta['audits']:,} audits"
    )
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}; "
        f"median of {args.repeats} runs (wall; CPU in brackets)\n"
    )

    rows: list[dict[str, Any]] = []

    def record(
        name: str,
        seconds: float,
        result: Any = None,
        note: str = "",
        cpu: float | None = None,
        walls: list[float] | None = None,
    ) -> None:
        row: dict[str, Any] = {"name": name, "seconds": round(seconds, 4), "note": note}
        if cpu is not None:
            row["cpu_seconds"] = round(cpu, 4)
        if walls is not None:
            row["runs"] = [round(w, 3) for w in walls]
        if isinstance(result, float | np.floating):
            row["value"] = float(result)
        rows.append(row)
        shown = f"({cpu * 1000:,.0f})" if cpu is not None else ""
        print(f"  {name:<46} {seconds * 1000:>9,.0f} ms {shown:>9}  {note}")

    def in_session(fn: Callable[[Any], Any]) -> Callable[[], Any]:
        def run() -> Any:
            with session_scope(factory) as session:
                return fn(session)

        return run

    # Rounds, each timing every step once, so that the machine's changing load falls on
    # all of them alike; medians over the rounds.
    samples: dict[str, list[tuple[float, float]]] = {}
    results: dict[str, Any] = {}

    def sample(name: str, fn: Callable[[], Any]) -> Any:
        wall, cpu = time.perf_counter(), time.process_time()
        results[name] = fn()
        samples.setdefault(name, []).append((time.perf_counter() - wall, time.process_time() - cpu))
        return results[name]

    def compute(labels: pd.DataFrame) -> tuple[Any, Any]:
        data = LabelData.from_frame(labels)
        summary = summarize_quality(data, min_overlap=project.quality.min_pair_overlap)
        return summary, _dawid_skene(data, {})

    for _ in range(args.repeats):
        labels = sample("read", in_session(lambda s: load_labels(s, project_id, Period())))
        data = sample("encode", lambda labels=labels: LabelData.from_frame(labels))
        sample(
            "summary", lambda data=data: summarize_quality(data, min_overlap=project.quality.min_pair_overlap)
        )
        sample("dawid_skene", lambda data=data: _dawid_skene(data, {}))
        sample("plain", lambda data=data: DawidSkene().fit(data))
        sample("computation", lambda labels=labels: compute(labels))
        sample("end_to_end", in_session(lambda s: build_report(s, project, project_id, Period())))

    def median(name: str) -> tuple[float, float, list[float]]:
        walls = [w for w, _ in samples[name]]
        return statistics.median(walls), statistics.median(c for _, c in samples[name]), walls

    labels, data, summary = results["read"], results["encode"], results["summary"]
    ds, plain, report = results["dawid_skene"], results["plain"], results["end_to_end"]
    print("ours")
    read, c, walls = median("read")
    record("read: load_labels", read, note=f"{len(labels):,} rows", cpu=c, walls=walls)
    t, c, _ = median("encode")
    record("  encode: LabelData.from_frame", t, cpu=c)
    t, c, _ = median("summary")
    record("  summarize_quality", t, cpu=c)
    t, c, walls = median("dawid_skene")
    record(
        "  Dawid-Skene (reports._dawid_skene)",
        t,
        cpu=c,
        walls=walls,
        note=f"accelerated EM: {ds['iterations']} EM steps, converged={ds['converged']}",
    )
    computation, c, walls = median("computation")
    record("computation: the three above", computation, cpu=c, note="target 2 s", walls=walls)
    end_to_end, c, walls = median("end_to_end")
    record("end to end: build_report in a session", end_to_end, cpu=c, note="target 5 s", walls=walls)
    t, c, walls = median("plain")
    record(
        "  (plain EM, DawidSkene().fit, for comparison)",
        t,
        cpu=c,
        walls=walls,
        note=f"{plain.n_iter_} iterations, converged={plain.converged_}",
    )

    agree = np.mean([ds["labels"][str(k)] == str(v) for k, v in plain.labels_.items()])
    accuracy_diff = max(
        abs(ds["annotator_accuracy"][str(u)] - round(float(a), 6))
        for u, a in plain.annotator_accuracy_.items()
    )
    print(
        f"\n  check: plain EM (DawidSkene(), {plain.n_iter_} iterations) vs the report's Dawid-Skene: "
        f"same label on {agree:.4%} of items, annotator accuracy max |diff| {accuracy_diff:.1e}"
    )

    reference: dict[str, Any] = {}
    if not args.no_reference:
        reference = run_references(
            labels.astype(object),
            data,
            summary,
            argparse.Namespace(repeats=args.repeats, sklearn_pairs=args.sklearn_pairs),
            record,
        )
        reference.update(crowdkit_reference(labels, args.crowdkit_repeats, args.crowdkit_converged, record))

    print(
        f"\nread {read:.2f} s, computation {computation:.2f} s (target 2 s: {'met' if computation <= 2 else 'missed'}), "
        f"end to end {end_to_end:.2f} s (target 5 s: {'met' if end_to_end <= 5 else 'missed'})"
    )
    values = {
        k: report[k]
        for k in (
            "krippendorff_alpha",
            "fleiss_kappa",
            "mean_cohen_kappa",
            "gold_accuracy",
            "escalation_rate",
            "median_hours_to_decision",
            "audit_error_rate",
            "model_accuracy",
        )
    }
    print("values: " + ", ".join(f"{k}={v}" for k, v in values.items()))
    print(
        json.dumps(
            {
                "benchmark": "quality_report",
                "labels": meta["labels"],
                "items": meta["items"],
                "annotators": len(meta["annotators"]),
                "repeats": args.repeats,
                "read_s": round(read, 3),
                "computation_s": round(computation, 3),
                "end_to_end_s": round(end_to_end, 3),
                "targets_met": {"computation_2s": computation <= 2, "end_to_end_5s": end_to_end <= 5},
                "dawid_skene": {
                    "steps": report["dawid_skene"]["iterations"],
                    "converged": report["dawid_skene"]["converged"],
                    "plain_em_iterations": plain.n_iter_,
                    "label_agreement_with_plain": agree,
                    "accuracy_max_abs_diff": accuracy_diff,
                },
                "values": values,
                "timings": rows,
                "reference_checks": reference,
            }
        )
    )
    return 0


def crowdkit_reference(
    labels: pd.DataFrame, repeats: int, converged: bool, record: Callable[..., None]
) -> dict[str, Any]:
    """crowd-kit's DawidSkene when importable: its defaults (stop once the loss gains < 1e-5)
    on 300,000 labels and on all; with ``converged`` also run to tol=1e-10 on 300,000."""
    if importlib.util.find_spec("crowdkit") is None:
        print("  crowd-kit: not importable (not a dependency); put it on PYTHONPATH to include it")
        return {}
    from crowdkit.aggregation import DawidSkene as CrowdKitDawidSkene

    tasks = labels[["item_id", "user_id", "label"]].astype(object)
    tasks = tasks.rename(columns={"item_id": "task", "user_id": "worker"})
    subset = tasks[tasks.task.isin(tasks.task.unique()[: int(tasks.task.nunique() * 0.3)])]
    out: dict[str, Any] = {}
    runs = [("300k", subset, {}), ("all", tasks, {})]
    if converged:
        runs.append(("300k_tol_1e-10", subset, {"n_iter": 100_000, "tol": 1e-10}))
    for name, frame, options in runs:
        t, c, model, _ = timed(
            lambda frame=frame, options=options: CrowdKitDawidSkene(**options).fit(frame), repeats
        )
        shown = ", ".join(f"{k}={v}" for k, v in options.items()) or "defaults: tol=1e-5"
        record(
            f"crowd-kit DawidSkene ({shown}), {len(frame):,} labels",
            t,
            cpu=c,
            note=f"{len(model.loss_history_)} iterations",
        )
        out[f"crowdkit_{name}"] = {"seconds": round(t, 2), "iterations": len(model.loss_history_)}
    return out


if __name__ == "__main__":
    raise SystemExit(main())
