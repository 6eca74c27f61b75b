"""Training a project's model: what it learns from, when it is due, saving and loading versions.

Runs in its own process (``labelbot model PROJECT --train``), started by the server's launcher
(``bot.model.launcher``): training holds the GIL for seconds, which would stall Slack
acknowledgements in the bot's process. Before a model can be trained, ``model.rules``
pre-label items (version 0).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sklearn.base import clone
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.config import ProjectConfig
from bot.learning.pipeline import (
    ModelLoadError,
    build_default_pipeline,
    load_model,
    load_user_pipeline,
    save_model,
)
from bot.learning.rules import RulePrelabeler
from bot.learning.training import TrainingError, train
from bot.model.registry import next_version
from bot.resolution import HUMAN, trainable
from storage.db import read_scope, session_scope
from storage.models import Item, ModelStatus, ModelVersion

__all__ = ["TrainOutcome", "latest_model", "models_dir", "train_project", "training_data"]

log = logging.getLogger(__name__)


def models_dir() -> Path:
    """Where trained models are saved: ``LABELBOT_MODELS_DIR``, default ``./models``."""
    return Path(os.environ.get("LABELBOT_MODELS_DIR", "models"))


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
    try:
        if project.model.pipeline:
            user = load_user_pipeline(project.model.pipeline, project.label_values)

            def pipeline_factory() -> Any:
                return clone(user)
        else:

            def pipeline_factory() -> Any:
                return build_default_pipeline(char_ngrams=project.model.char_ngrams)

        result = train(
            texts, labels, pipeline_factory, min_labels=project.model.min_labels, on_progress=on_progress
        )
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
                path=str(path),
                status=ModelStatus.TRAINED,
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
        .where(ModelVersion.project_id == project_id, ModelVersion.status == ModelStatus.TRAINED)
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
