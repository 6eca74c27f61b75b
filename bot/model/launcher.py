"""Starting training in its own process when a project's model is due.

The server checks every minute (a scheduled job); training itself runs as
``labelbot model PROJECT --train`` at the lowest CPU priority, so Slack acknowledgements in
the server's process never wait for it. Nothing here imports scikit-learn.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.config import ProjectConfig
from bot.resolution import trainable
from storage.db import read_scope
from storage.models import Item, ModelVersion, utcnow

__all__ = ["TrainingLauncher", "retrain_due"]

log = logging.getLogger(__name__)
# The interpreter, as an absolute path taken at import: ``sys.executable`` may be relative (a
# relative PATH entry), and would then break once the process has changed its directory.
PYTHON = os.path.abspath(sys.executable)


def _count_training_labels(session: Session, project_id: int) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Item)
            .where(
                Item.project_id == project_id,
                trainable(),
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
    """Starts ``labelbot model PROJECT --train`` in a separate process, one per project at a time.

    ``on_exit(project, seconds, returncode)`` is called when a process it started ends (from a
    thread that waits for it): the serving process's metrics."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        projects: list[ProjectConfig],
        ids: dict[str, int],
        *,
        on_exit: Callable[[str, float, int], None] | None = None,
    ) -> None:
        self.factory, self.projects, self.ids = factory, projects, ids
        self.on_exit = on_exit
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
                log.info(
                    "starting a model training process for %s", project.key, extra={"project": project.key}
                )
                command = [PYTHON, "-m", "bot.cli", "model", project.key, "--train"]
                proc = subprocess.Popen(command, stdin=subprocess.DEVNULL)
                self._running[project.key] = proc
                if self.on_exit is not None:
                    threading.Thread(
                        target=self._wait, args=(project.key, proc, time.monotonic()), daemon=True
                    ).start()
                started.append(project.key)
        return started

    def _wait(self, key: str, proc: subprocess.Popen[bytes], started: float) -> None:
        returncode = proc.wait()
        if self.on_exit is not None:
            self.on_exit(key, time.monotonic() - started, returncode)

    def stop(self) -> None:
        for proc in self._running.values():
            if proc.poll() is None:
                proc.terminate()
