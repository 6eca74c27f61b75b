"""Training and scoring a project's model, and storing what dispatch needs.

Runs in its own process (``labelbot model PROJECT --train``), started by the
server when enough new resolved labels have arrived: training holds the GIL for
seconds, which would stall Slack acknowledgements in the bot's process.

After training, every item not yet resolved is scored once: its predicted label,
confidence and priority are stored on the item, and the items' order (priority
descending, then import order) is written as a new ranking (``dispatch_ranks``),
so that choosing the next item to post is one walk down an index, never a
rescoring. Before a model can be trained, ``model.rules`` pre-label items (version 0).
"""

from __future__ import annotations

import logging
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import clone
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot import audits
from bot.config import ProjectConfig
from bot.items import mark_dirty, record_event
from bot.learning.pipeline import (
    ModelLoadError,
    build_default_pipeline,
    load_model,
    load_user_pipeline,
    predict_proba_batched,
    save_model,
)
from bot.learning.rules import RulePrelabeler
from bot.learning.sampling import score
from bot.learning.training import TrainingError, train
from storage.db import driver_mark, read_scope, session_scope
from storage.models import DispatchRank, Item, ItemStatus, ModelVersion, Project, Resolution, utcnow

__all__ = [
    "ScoreReport",
    "TrainOutcome",
    "TrainingLauncher",
    "latest_model",
    "models_dir",
    "retrain_due",
    "score_and_store",
    "score_items",
    "store_ranks",
    "store_scores",
    "train_project",
    "training_data",
]

log = logging.getLogger(__name__)
HUMAN = (Resolution.CONSENSUS, Resolution.EXPERT, Resolution.AUDIT)
MODEL_ACTOR = "model"
SCORE_CHUNK = 50_000  # texts scored at once: bounds the feature matrix (~75 MB) and pipelines the store
SCORE_BATCH = 1_000  # rows per transaction when storing scores: 10-40 ms of SQLite's write lock
# PostgreSQL locks rows, not the database: larger batches, each ~50 ms of row locks on 5,000 items
# (200,000 items' scores: 1,000 a batch 3.1 s, 5,000 2.0-2.3 s, 10,000 2.1-2.5 s).
SCORE_BATCH_PG = 5_000
RANK_BATCH = 10_000  # rank rows per transaction: appends to one end of the key, ~10 ms each
RANK_COLUMNS = ("project_id", "run", "rank", "item_id")
# SQLite: the pause after a batch, as long as the batch held the lock but at most this. Storing
# 1M items' scores and then their ranking beside a process writing every 10 ms
# (benchmarks/score_store_contention.py): no pause 4.5 + 2.6 s (that writer's waits: p99 106 ms,
# max 1.1 s), 10 ms 9.5 + 5.0 s (p99 20 ms, max 56 ms).
SCORE_PAUSE_MAX = 0.01


def models_dir() -> Path:
    """Where trained models are saved: ``LABELBOT_MODELS_DIR``, default ``./models``."""
    return Path(os.environ.get("LABELBOT_MODELS_DIR", "models"))


def training_data(session: Session, project_id: int) -> tuple[list[str], list[str]]:
    """Texts and labels people decided (consensus, expert, audit corrections) plus gold labels."""
    rows = session.execute(
        select(Item.text, Item.final_label, Item.gold_label, Item.resolution).where(
            Item.project_id == project_id,
            (Item.resolution.in_(HUMAN) & Item.final_label.is_not(None)) | Item.gold_label.is_not(None),
        )
    ).all()
    texts, labels = [], []
    for text, final, gold, resolution in rows:
        label = gold if gold is not None else (final if resolution in HUMAN else None)
        if label is not None:
            texts.append(text)
            labels.append(label)
    return texts, labels


@dataclass(frozen=True)
class TrainOutcome:
    version: int
    status: str
    error: str | None = None
    cv_accuracy: float | None = None
    cv_macro_f1: float | None = None
    n_labels: int = 0
    duration_s: float = 0.0


def _next_version(session: Session, project_id: int) -> int:
    latest = session.scalar(
        select(func.max(ModelVersion.version)).where(ModelVersion.project_id == project_id)
    )
    return int(latest or 0) + 1


def train_project(factory: sessionmaker[Session], project: ProjectConfig, project_id: int) -> TrainOutcome:
    """Train, save and record a new version; a failure is recorded with its reason and raises nothing."""
    started = time.perf_counter()
    with read_scope(factory) as session:
        texts, labels = training_data(session, project_id)
        version = _next_version(session, project_id)
    try:
        if project.model.pipeline:
            user = load_user_pipeline(project.model.pipeline, project.label_values)

            def pipeline_factory() -> Any:
                return clone(user)
        else:

            def pipeline_factory() -> Any:
                return build_default_pipeline(char_ngrams=project.model.char_ngrams)

        result = train(texts, labels, pipeline_factory, min_labels=project.model.min_labels)
        path = models_dir() / project.key / f"v{version}.joblib"
        path.parent.mkdir(parents=True, exist_ok=True)
        save_model(
            result.pipeline,
            path,
            {
                "project": project.key,
                "version": version,
                "n_labels": result.n_labels,
                "cv_method": result.cv_method,
            },
        )
    except (TrainingError, ModelLoadError, ValueError, OSError) as exc:
        message = f"{type(exc).__name__}: {exc}"
        log.error(
            "training a model for %s failed: %s; labeling goes on without suggestions", project.key, message
        )
        with session_scope(factory) as session:
            session.add(
                ModelVersion(
                    project_id=project_id,
                    version=version,
                    status="failed",
                    error=message,
                    n_labels=len(labels),
                )
            )
        return TrainOutcome(
            version, "failed", message, n_labels=len(labels), duration_s=time.perf_counter() - started
        )
    with session_scope(factory) as session:
        session.add(
            ModelVersion(
                project_id=project_id,
                version=version,
                path=str(path),
                status="trained",
                cv_accuracy=result.cv_accuracy,
                cv_macro_f1=result.cv_macro_f1,
                n_labels=result.n_labels,
            )
        )
    return TrainOutcome(
        version,
        "trained",
        None,
        result.cv_accuracy,
        result.cv_macro_f1,
        result.n_labels,
        time.perf_counter() - started,
    )


def latest_model(session: Session, project: ProjectConfig, project_id: int) -> tuple[int, Any] | None:
    """(version, classifier) of the newest trained model that loads; rules (version 0) before any.

    Call it in a ``read_scope``: unpickling takes a while, and a read never holds the write lock.
    """
    rows = session.execute(
        select(ModelVersion.version, ModelVersion.path)
        .where(ModelVersion.project_id == project_id, ModelVersion.status == "trained")
        .order_by(ModelVersion.version.desc())
        .limit(3)
    ).all()
    for version, path in rows:
        try:
            return version, load_model(path or "", project.label_values).pipeline
        except ModelLoadError as exc:
            log.error("model v%s of %s cannot be loaded: %s", version, project.key, exc)
    if project.model.rules:
        rules = [r.model_dump(exclude_none=True) for r in project.model.rules]
        return 0, RulePrelabeler(rules, project.label_values)
    return None


@dataclass(frozen=True)
class ScoreReport:
    version: int
    scored: int
    auto_accepted: int
    duration_s: float


def score_items(
    factory: sessionmaker[Session],
    project: ProjectConfig,
    project_id: int,
    version: int,
    model: Any,
    *,
    seed: int | None = None,
) -> ScoreReport:
    """Score every unresolved item; store label, confidence and priority; auto-accept if configured;
    then rank what is left for dispatch."""
    started = time.perf_counter()
    with read_scope(factory) as session:  # a read: never SQLite's write lock, which clicks need
        rows = session.execute(
            select(Item.id, Item.import_seq, Item.text)
            .where(
                Item.project_id == project_id,
                Item.status.in_([ItemStatus.QUEUED, ItemStatus.OPEN, ItemStatus.ESCALATED]),
            )
            .order_by(Item.id)
        ).all()
    if not rows:
        return ScoreReport(version, 0, 0, time.perf_counter() - started)
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    seqs = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
    texts = [r[2] for r in rows]
    del rows
    priority = score_and_store(factory, model, ids, texts, project.model.sampling, version, seed=seed)
    accepted = _auto_accept(factory, project, project_id, version) if project.model.auto_accept else []
    if accepted:  # resolved now: never offered, so not ranked
        keep = ~np.isin(ids, np.asarray(accepted, dtype=np.int64))
        ids, seqs, priority = ids[keep], seqs[keep], priority[keep]
    store_ranks(factory, project_id, ids, seqs, priority)
    return ScoreReport(version, len(texts), len(accepted), time.perf_counter() - started)


def score_and_store(
    factory: sessionmaker[Session],
    model: Any,
    ids: Sequence[int] | np.ndarray,
    texts: Sequence[str],
    sampling: str,
    version: int,
    *,
    seed: int | None = None,
    chunk: int = SCORE_CHUNK,
) -> np.ndarray:
    """Score ``texts`` in chunks and store each chunk while the next one is being scored; return
    the priorities, in the order of ``ids``, for :func:`store_ranks`.

    Scoring is CPU work and storing mostly waits (on SQLite's page writes, its commits and the
    pauses that let clicks in), and both the database drivers and the Arrow/NumPy kernels release
    the GIL, so a writer thread stores beside the scorer and the pass takes about as long as its
    slower half (benchmarks/model_scoring.py). At most two scored chunks wait for the writer,
    which bounds memory. A failure on either side stops both and is raised here; chunks already
    stored keep their new scores (scores are advice, and dispatch keeps the previous ranking).
    """
    if len(ids) != len(texts):
        raise ValueError(f"{len(ids)} ids for {len(texts)} texts")
    classes = list(model.classes_)
    rng = np.random.default_rng(seed)  # one stream over all chunks, as if scored at once
    pending: queue.Queue[tuple[Any, ...] | None] = queue.Queue(maxsize=2)
    failures: list[BaseException] = []
    priorities: list[np.ndarray] = []

    def write() -> None:
        while (job := pending.get()) is not None:
            if not failures:
                try:
                    store_scores(factory, *job, version)
                except BaseException as exc:  # handed to the scoring thread, which raises it
                    failures.append(exc)

    writer = threading.Thread(target=write, name="labelbot-score-writer", daemon=True)
    writer.start()
    try:
        for start in range(0, len(ids), chunk):
            if failures:
                break
            proba = predict_proba_batched(model, texts[start : start + chunk], batch_size=chunk)
            scores = score(proba, classes, sampling, rng=rng)
            priorities.append(np.asarray(scores.priority, dtype=float))
            pending.put((ids[start : start + chunk], scores.label, scores.confidence, scores.priority))
    finally:
        pending.put(None)
        writer.join()
    if failures:
        raise failures[0]
    return np.concatenate(priorities) if priorities else np.empty(0)


def store_scores(
    factory: sessionmaker[Session],
    ids: Sequence[int] | np.ndarray,
    labels: Sequence[str] | np.ndarray,
    confidence: Sequence[float] | np.ndarray,
    priority: Sequence[float] | np.ndarray,
    version: int,
) -> None:
    """Store each item's suggested label, confidence and priority, in short transactions.

    None of these columns is indexed, so items given in id order are updated page by page.
    One transaction over a million rows would hold SQLite's write lock (PostgreSQL's row locks,
    which a click takes with ``FOR UPDATE``) for seconds, and every click would wait: batches of
    ``SCORE_BATCH`` rows let clicks in between. Scores are advice, so an interrupted run may leave
    some items with the previous version's. On SQLite the writer also pauses briefly after each
    batch (``SCORE_PAUSE_MAX``): a waiting click polls from SQLite's busy handler, and a writer
    that took the lock straight back would starve it.

    The rows go to the driver's ``executemany`` directly: SQLAlchemy's per-row parameter
    processing made this write 5x slower (2.6 s against 0.5 s per 100,000 rows on SQLite), and
    the statement only binds strings, numbers and one timestamp, converted here as SQLAlchemy would.
    """
    dialect = factory.kw["bind"].dialect
    to_db = Item.__table__.c.updated_at.type.dialect_impl(dialect).bind_processor(dialect)
    now = to_db(utcnow()) if to_db else utcnow()
    rows = list(  # in SCORE_COLUMNS' order
        zip(
            [str(v) for v in labels],
            np.asarray(confidence, dtype=float).tolist(),
            np.asarray(priority, dtype=float).tolist(),
            [int(version)] * len(ids),
            [now] * len(ids),
            np.asarray(ids, dtype=np.int64).tolist(),
            strict=True,
        )
    )
    if dialect.name == "postgresql":
        _store_scores_by_copy(factory, rows)
        return
    mark = driver_mark(dialect)
    *values, key = SCORE_COLUMNS
    sql = f"UPDATE {Item.__tablename__} SET {', '.join(f'{n} = {mark}' for n in values)} WHERE {key} = {mark}"
    _write_in_batches(factory, sql, rows, SCORE_BATCH)


# The id last: the WHERE of the per-row UPDATE binds it after the values.
SCORE_COLUMNS = ("model_label", "model_confidence", "priority", "model_version", "updated_at", "id")
SCORE_STAGE = "labelbot_score_stage"


def _store_scores_by_copy(factory: sessionmaker[Session], rows: list[tuple[Any, ...]]) -> None:
    """PostgreSQL: each batch is COPYed into a temporary table and applied by one UPDATE ... FROM.

    ``executemany`` (one UPDATE per row, 1,000 a transaction) stored 200,000 items' scores in
    6.2 s; this path with 5,000-row batches, on items with free room per page (migration 0003),
    in 2.0-2.3 s. The stage table is the connection's own and empties itself at each commit, so
    a batch sees only its rows.
    """
    names = ", ".join(SCORE_COLUMNS)
    assignments = ", ".join(f"{n} = s.{n}" for n in SCORE_COLUMNS if n != "id")
    items = Item.__tablename__

    def apply(session: Session, chunk: list[tuple[Any, ...]]) -> None:
        cursor = session.connection().connection.driver_connection.cursor()
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {SCORE_STAGE} ON COMMIT DELETE ROWS AS "
            f"SELECT {names} FROM {items} WITH NO DATA"
        )
        with cursor.copy(f"COPY {SCORE_STAGE} ({names}) FROM STDIN") as out:
            for row in chunk:
                out.write_row(row)
        cursor.execute(f"UPDATE {items} SET {assignments} FROM {SCORE_STAGE} s WHERE {items}.id = s.id")

    _in_batches(factory, rows, SCORE_BATCH_PG, apply)


def store_ranks(
    factory: sessionmaker[Session],
    project_id: int,
    ids: Sequence[int] | np.ndarray,
    seqs: Sequence[int] | np.ndarray,
    priority: Sequence[float] | np.ndarray,
) -> int:
    """Write a new ranking of ``ids`` (priority descending, then import order) and make dispatch
    follow it; return its run number.

    The rows go in rank order under a new run number, so each batch appends to the end of the
    primary key; dispatch keeps following the previous run until the last row is in, then one
    conditional UPDATE switches it over, and the older runs are deleted behind, in key ranges.
    Of two rankings written at once (two ``labelbot model --score``), the newer run wins and the
    other deletes its own rows. An interrupted run leaves rows that no dispatch reads; the next
    completed ranking deletes them.
    """
    ids = np.asarray(ids, dtype=np.int64)
    order = np.lexsort((np.asarray(seqs, dtype=np.int64), -np.asarray(priority, dtype=float)))
    with session_scope(factory) as session:
        run = session.execute(
            update(Project)
            .where(Project.id == project_id)
            .values(score_runs=Project.score_runs + 1)
            .returning(Project.score_runs)
        ).scalar_one()
    n = len(ids)
    rows = list(zip([project_id] * n, [run] * n, range(n), ids[order].tolist(), strict=True))
    _insert_rows(factory, DispatchRank.__tablename__, RANK_COLUMNS, rows, RANK_BATCH)
    with session_scope(factory) as session:
        switched = session.execute(
            update(Project)
            .where(
                Project.id == project_id,
                (Project.dispatch_run.is_(None)) | (Project.dispatch_run < run),
            )
            .values(dispatch_run=run)
            .execution_options(synchronize_session=False)
        ).rowcount
    if not switched:
        log.info("ranking run %s of project %s was overtaken by a newer one; deleting it", run, project_id)
    _delete_runs(factory, project_id, run if not switched else None)
    return run


def _delete_runs(factory: sessionmaker[Session], project_id: int, run: int | None) -> None:
    """Delete ranking ``run`` (or, with None, every run older than the one dispatch follows),
    ``RANK_BATCH`` ranks per transaction: each a contiguous range of the primary key."""
    r = DispatchRank
    while True:
        with read_scope(factory) as session:
            if run is None:
                current = select(Project.dispatch_run).where(Project.id == project_id).scalar_subquery()
                stale = session.scalar(
                    select(func.min(r.run)).where(r.project_id == project_id, r.run < current)
                )
            else:
                stale = session.scalar(select(r.run).where(r.project_id == project_id, r.run == run).limit(1))
            if stale is None:
                return
            last = session.scalar(select(func.max(r.rank)).where(r.project_id == project_id, r.run == stale))
        for start in range(0, (last or 0) + 1, RANK_BATCH):
            began = time.perf_counter()
            with session_scope(factory) as session:
                session.execute(
                    delete(r).where(r.project_id == project_id, r.run == stale, r.rank < start + RANK_BATCH)
                )
            _pause_after(factory, began)
        if run is not None:
            return


def _write_in_batches(
    factory: sessionmaker[Session], sql: str, rows: list[tuple[Any, ...]], batch: int
) -> None:
    """``sql`` through the driver's ``executemany``, ``batch`` rows per transaction."""
    _in_batches(factory, rows, batch, lambda session, chunk: session.connection().exec_driver_sql(sql, chunk))


def _insert_rows(
    factory: sessionmaker[Session],
    table: str,
    columns: Sequence[str],
    rows: list[tuple[Any, ...]],
    batch: int,
) -> None:
    """Insert ``rows`` into ``table``, ``batch`` per transaction; on PostgreSQL through COPY, which
    wrote a 200,000-row ranking in 1.2 s against 4.5 s for ``executemany``."""
    dialect = factory.kw["bind"].dialect
    names = ", ".join(columns)
    if dialect.name != "postgresql":
        marks = ", ".join([driver_mark(dialect)] * len(columns))
        _write_in_batches(factory, f"INSERT INTO {table} ({names}) VALUES ({marks})", rows, batch)
        return

    def copy(session: Session, chunk: list[tuple[Any, ...]]) -> None:
        cursor = session.connection().connection.driver_connection.cursor()
        with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as out:
            for row in chunk:
                out.write_row(row)

    _in_batches(factory, rows, batch, copy)


def _in_batches(
    factory: sessionmaker[Session],
    rows: list[tuple[Any, ...]],
    batch: int,
    write: Callable[[Session, list[tuple[Any, ...]]], Any],
) -> None:
    """One transaction per ``batch`` rows, each followed by :func:`_pause_after`."""
    for start in range(0, len(rows), batch):
        began = time.perf_counter()
        with session_scope(factory) as session:
            write(session, rows[start : start + batch])
        _pause_after(factory, began)


def _pause_after(factory: sessionmaker[Session], began: float) -> None:
    """On SQLite, after a write transaction that began at ``began``: sleep as long as it held the
    lock, at most ``SCORE_PAUSE_MAX``. A click waiting for the lock polls from SQLite's busy
    handler, and a writer that took the lock straight back would starve it (a back-to-back
    delete of a million ranks held another process's write up for 1.3 s)."""
    if factory.kw["bind"].dialect.name == "sqlite":
        time.sleep(min(time.perf_counter() - began, SCORE_PAUSE_MAX))


def _auto_accept(
    factory: sessionmaker[Session], project: ProjectConfig, project_id: int, version: int
) -> list[int]:
    """Queued items the model is sure about resolve with ``resolution = model``; some go to audit.
    Returns their ids."""
    threshold = project.model.auto_accept or 1.0
    now = utcnow()
    with session_scope(factory) as session:
        items = session.scalars(
            select(Item).where(
                Item.project_id == project_id,
                Item.status == ItemStatus.QUEUED,
                Item.gold_label.is_(None),
                Item.model_confidence >= threshold,
                Item.model_version == version,
            )
        ).all()
        for item in items:
            item.status = ItemStatus.RESOLVED
            item.resolution = Resolution.MODEL
            item.final_label = item.model_label
            item.agreement = None
            item.resolved_at = now
            record_event(
                session,
                item,
                MODEL_ACTOR,
                "resolved",
                label=item.model_label,
                detail={
                    "resolution": Resolution.MODEL,
                    "confidence": item.model_confidence,
                    "model_version": version,
                },
                at=now,
            )
            audits.maybe_sample(session, item, project, now=now)
            mark_dirty(item)
        return [item.id for item in items]


def _count_training_labels(session: Session, project_id: int) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Item)
            .where(
                Item.project_id == project_id,
                (Item.resolution.in_(HUMAN) & Item.final_label.is_not(None)) | Item.gold_label.is_not(None),
            )
        )
        or 0
    )


def retrain_due(session: Session, project: ProjectConfig, project_id: int) -> bool:
    """Enough new resolved labels since the last version (``retrain_every``), or a day since it."""
    if not project.model.enabled:
        return False
    available = _count_training_labels(session, project_id)
    last = session.scalar(
        select(ModelVersion)
        .where(ModelVersion.project_id == project_id)
        .order_by(ModelVersion.version.desc())
        .limit(1)
    )
    if last is None:
        return available >= project.model.min_labels or bool(project.model.rules)
    grown = available - last.n_labels
    if grown >= project.model.retrain_every:
        return True
    return grown > 0 and (utcnow() - last.created_at).total_seconds() > 86_400


class TrainingLauncher:
    """Starts ``labelbot model PROJECT --train`` in a separate process, one per project at a time."""

    def __init__(
        self, factory: sessionmaker[Session], projects: list[ProjectConfig], ids: dict[str, int]
    ) -> None:
        self.factory, self.projects, self.ids = factory, projects, ids
        self._running: dict[str, subprocess.Popen[bytes]] = {}

    def check(self) -> list[str]:
        started = []
        for project in self.projects:
            proc = self._running.get(project.key)
            if proc is not None and proc.poll() is None:
                continue
            with read_scope(self.factory) as session:
                due = retrain_due(session, project, self.ids[project.key])
            if due:
                log.info("starting a model training process for %s", project.key)
                command = [sys.executable, "-m", "bot.cli", "model", project.key, "--train"]
                self._running[project.key] = subprocess.Popen(command, stdin=subprocess.DEVNULL)
                started.append(project.key)
        return started

    def stop(self) -> None:
        for proc in self._running.values():
            if proc.poll() is None:
                proc.terminate()
