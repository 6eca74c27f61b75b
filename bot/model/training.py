"""Training a project's model: what it learns from, when it is due, saving and loading versions.

Runs in its own process (``labelbot model PROJECT --train``), started by the server's launcher
(``bot.model.launcher``): training holds the GIL for seconds, which would stall Slack
acknowledgements in the bot's process. Before a model can be trained, ``model.rules``
pre-label items (version 0).

A trained version is stored in the database (``bot.model.artifacts``) in the transaction that
records it, so any host can score with it; a user's own ``model.pipeline`` file is read here, at
training time, and what is stored is that pipeline fitted. Versions trained before models moved
into the database keep their file path (``model_versions.path``) and are still read from it, on
the host that has the file; the next retrain stores its model in the database.
"""

from __future__ import annotations

import logging
import pickle
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sklearn.base import clone
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.config import ProjectConfig
from bot.learning.pipeline import (
    ModelLoadError,
    build_default_pipeline,
    load_model,
    load_user_pipeline,
    wants_char_ngrams,
)
from bot.learning.rules import RulePrelabeler
from bot.learning.training import TrainingError, train
from bot.model import artifacts
from bot.model.registry import next_version
from bot.resolution import HUMAN, trainable
from storage.db import read_scope, session_scope
from storage.models import Item, ModelStatus, ModelVersion

__all__ = ["TrainOutcome", "latest_model", "train_project", "training_data"]

log = logging.getLogger(__name__)


def training_data(session: Session, project_id: int) -> tuple[list[str], list[str]]:
    """Texts and labels people decided (consensus, expert, audit corrections) plus gold labels."""
    rows = session.execute(
        select(Item.text, Item.final_label, Item.gold_label, Item.resolution).where(
            Item.project_id == project_id,
            trainable(),
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


def train_project(
    factory: sessionmaker[Session],
    project: ProjectConfig,
    project_id: int,
    on_progress: Callable[[int, int], None] | None = None,
) -> TrainOutcome:
    """Train, save and record a new version; a failure is recorded with its reason and raises nothing.
    ``on_progress(fits done, fits)`` follows the cross-validation and the final fit."""
    started = time.perf_counter()
    with read_scope(factory) as session:
        texts, labels = training_data(session, project_id)
        version = next_version(session, project_id)
        n_items = session.scalar(select(func.count()).select_from(Item).where(Item.project_id == project_id))
    try:
        if project.model.pipeline:
            user = load_user_pipeline(project.model.pipeline, project.label_values)

            def pipeline_factory() -> Any:
                return clone(user)
        else:
            char = wants_char_ngrams(project.model.char_ngrams, n_items or 0, len(labels))

            def pipeline_factory() -> Any:
                return build_default_pipeline(char_ngrams=char)

        result = train(
            texts, labels, pipeline_factory, min_labels=project.model.min_labels, on_progress=on_progress
        )
        data = artifacts.dump_model(
            result.pipeline,
            {
                "project": project.key,
                "version": version,
                "n_labels": result.n_labels,
                "cv_method": result.cv_method,
                "source": "model.pipeline" if project.model.pipeline else "default",
            },
        )
        artifacts.check_size(data, version, project_key=project.key)
    except (TrainingError, ModelLoadError, ValueError, OSError, pickle.PicklingError) as exc:
        message = f"{type(exc).__name__}: {exc}"
        log.error(
            "training a model for %s failed: %s; labeling goes on without suggestions", project.key, message
        )
        with session_scope(factory) as session:
            session.add(
                ModelVersion(
                    project_id=project_id,
                    version=version,
                    status=ModelStatus.FAILED,
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
                status=ModelStatus.TRAINED,
                cv_accuracy=result.cv_accuracy,
                cv_macro_f1=result.cv_macro_f1,
                n_labels=result.n_labels,
            )
        )
        artifacts.save_artifact(session, project_id, version, data, limit=len(data), project_key=project.key)
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

    From the database; a version saved as a file before models moved there, from its file. Call
    it in a ``read_scope``: unpickling takes a while, and a read never holds the write lock.
    """
    rows = session.execute(
        select(ModelVersion.version, ModelVersion.path)
        .where(ModelVersion.project_id == project_id, ModelVersion.status == ModelStatus.TRAINED)
        .order_by(ModelVersion.version.desc())
        .limit(3)
    ).all()
    for version, path in rows:
        try:
            stored = artifacts.load_artifact(session, project_id, version, project.label_values)
            if stored is not None:
                return version, stored
            return version, load_model(path or "", project.label_values).pipeline
        except ModelLoadError as exc:
            log.error("model v%s of %s cannot be loaded: %s", version, project.key, exc)
    if project.model.rules:
        rules = [r.model_dump(exclude_none=True) for r in project.model.rules]
        return 0, RulePrelabeler(rules, project.label_values)
    return None
