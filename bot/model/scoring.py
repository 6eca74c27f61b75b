"""Scoring every unresolved item with the newest model, and ranking them for dispatch.

After training, every item not yet resolved is scored once: its predicted label, confidence
and priority are stored on the item, and the items' order (priority descending, then import
order) is written as a new ranking (``dispatch_ranks``), so that choosing the next item to
post is one walk down an index, never a rescoring. Items the model is sure about may resolve
at once (``model.auto_accept``).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.config import ProjectConfig
from bot.learning import strategies
from bot.learning.pipeline import predict_proba_batched
from bot.learning.sampling import length_weight, score
from bot.resolution import resolve_item
from storage import bulk
from storage.db import read_scope, session_scope
from storage.models import Item, ItemStatus, Resolution, utcnow

__all__ = [
    "SCORE_CHUNK",
    "ScoreReport",
    "auto_accept",
    "dispatch_order",
    "rank_order",
    "score_and_store",
    "score_items",
    "store_ranks",
    "stored_priority",
]

MODEL_ACTOR = "model"
SCORE_CHUNK = 50_000  # texts scored at once: bounds the feature matrix (~75 MB) and pipelines the store


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
    on_progress: Callable[[int, int], None] | None = None,
) -> ScoreReport:
    """Score every unresolved item; store label, confidence and priority; auto-accept if configured;
    then rank what is left for dispatch. ``on_progress(items scored, items)`` follows the chunks."""
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
    strategy, length_power = project.model.strategy, project.model.length_power
    priority = score_and_store(
        factory, model, ids, texts, stored_priority(strategy), version,
        seed=seed, on_progress=on_progress, length_power=length_power,
    )  # fmt: skip
    accepted = auto_accept(factory, project, project_id, version) if project.model.auto_accept else []
    positions = np.arange(len(ids))
    if accepted:  # resolved now: never offered, so not ranked
        positions = np.flatnonzero(~np.isin(ids, np.asarray(accepted, dtype=np.int64)))
        ids, seqs, priority = ids[positions], seqs[positions], priority[positions]
    order = None
    if strategy not in PRIORITY_STRATEGIES:
        counts = _label_counts(factory, project_id, list(model.classes_))
        order = dispatch_order(
            model, [texts[int(i)] for i in positions], seqs, priority, strategy, counts,
            batch=project.model.retrain_every, top_m=project.model.rerank_top, seed=seed,
            length_power=length_power,
        )  # fmt: skip
    store_ranks(factory, project_id, ids, seqs, priority, order=order)
    return ScoreReport(version, len(texts), len(accepted), time.perf_counter() - started)


#: Strategies that are one priority per item; the others reorder the top of the ranking.
PRIORITY_STRATEGIES = frozenset({"uncertainty", "margin", "entropy", "random"})


def stored_priority(strategy: str) -> str:
    """The priority stored on items: the strategy's own, or margin, which the others start from."""
    return strategy if strategy in PRIORITY_STRATEGIES else "margin"


def _label_counts(factory: sessionmaker[Session], project_id: int, classes: list[str]) -> np.ndarray:
    """Resolved labels per model class, for the ``balanced`` strategies."""
    with read_scope(factory) as session:
        rows = session.execute(
            select(Item.final_label, func.count())
            .where(Item.project_id == project_id, Item.status == ItemStatus.RESOLVED)
            .group_by(Item.final_label)
        ).all()
    counts = {str(label): int(n) for label, n in rows}
    return np.array([counts.get(str(c), 0) for c in classes], dtype=np.int64)


def dispatch_order(
    model: Any,
    texts: Sequence[str],
    seqs: npt.NDArray[Any],
    priority: npt.NDArray[Any],
    strategy: str,
    class_counts: npt.NDArray[Any],
    *,
    batch: int,
    top_m: int,
    seed: int | None = None,
    length_power: float = 0.0,
) -> npt.NDArray[np.intp]:
    """Positions in dispatch order for a batch-aware strategy (``bot.learning.strategies``).

    Only the ``top_m`` best by stored priority (margin, weighted by length as
    :func:`score_and_store` stored it) are reordered, so they alone are scored again (with
    their features, a few hundred ms); the rest follow in :func:`rank_order`.
    """
    base = rank_order(priority, seqs)
    top = base[: max(top_m, batch)]
    top_texts = [texts[int(i)] for i in top]
    proba = predict_proba_batched(model, top_texts)
    local = strategies.order(
        proba,
        strategy,
        import_seq=np.asarray(seqs)[top],
        embed=strategies.model_embedder(model, top_texts),
        class_counts=class_counts,
        batch=batch,
        top_m=top.size,
        rng=seed,
        weight=length_weight(top_texts, length_power),
    )
    return np.concatenate([top[local], base[top.size :]]).astype(np.intp)


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
    on_progress: Callable[[int, int], None] | None = None,
    length_power: float = 0.0,
) -> np.ndarray:
    """Score ``texts`` in chunks and store each chunk while the next one is being scored; return
    the priorities, in the order of ``ids``, for :func:`store_ranks`. ``length_power``: the
    priorities are weighted by :func:`~bot.learning.sampling.length_weight` (``model.length_power``).

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
    Chunk = tuple[Any, Any, Any, Any]  # ids, labels, confidences, priorities
    pending: queue.Queue[Chunk | None] = queue.Queue(maxsize=2)
    failures: list[BaseException] = []
    priorities: list[np.ndarray] = []

    def write() -> None:
        while (job := pending.get()) is not None:
            if not failures:
                try:
                    bulk.store_scores(factory, job[0], job[1], job[2], job[3], version)
                except BaseException as exc:  # handed to the scoring thread, which raises it
                    failures.append(exc)

    writer = threading.Thread(target=write, name="labelbot-score-writer", daemon=True)
    writer.start()
    try:
        for start in range(0, len(ids), chunk):
            if failures:
                break
            part = texts[start : start + chunk]
            proba = predict_proba_batched(model, part, batch_size=chunk)
            scores = score(proba, classes, sampling, rng=rng, weight=length_weight(part, length_power))
            priorities.append(np.asarray(scores.priority, dtype=float))
            pending.put((ids[start : start + chunk], scores.label, scores.confidence, scores.priority))
            if on_progress is not None:
                on_progress(min(start + chunk, len(ids)), len(ids))
    finally:
        pending.put(None)
        writer.join()
    if failures:
        raise failures[0]
    return np.concatenate(priorities) if priorities else np.empty(0)


def rank_order(
    priority: Sequence[float] | npt.NDArray[Any], seqs: Sequence[int] | npt.NDArray[Any]
) -> npt.NDArray[np.intp]:
    """Positions in dispatch order: priority descending, then import order (ties never by chance)."""
    return np.lexsort((np.asarray(seqs, dtype=np.int64), -np.asarray(priority, dtype=float)))


def store_ranks(
    factory: sessionmaker[Session],
    project_id: int,
    ids: Sequence[int] | npt.NDArray[Any],
    seqs: Sequence[int] | npt.NDArray[Any],
    priority: Sequence[float] | npt.NDArray[Any],
    *,
    order: npt.NDArray[np.intp] | None = None,
) -> int:
    """Write a new ranking of ``ids`` in ``order`` (default :func:`rank_order`) and make dispatch
    follow it (see :func:`storage.bulk.write_ranking`); return its run number."""
    positions = rank_order(priority, seqs) if order is None else order
    ordered = np.asarray(ids, dtype=np.int64)[positions]
    return bulk.write_ranking(factory, project_id, ordered.tolist())


def auto_accept(
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
            item.agreement = None
            resolve_item(
                session,
                item,
                project,
                label=str(item.model_label),
                resolution=Resolution.MODEL,
                actor=MODEL_ACTOR,
                detail={
                    "resolution": Resolution.MODEL,
                    "confidence": item.model_confidence,
                    "model_version": version,
                },
                now=now,
            )
        return [item.id for item in items]
