"""Starting training in its own process when a project's model is due.

The server checks every minute (a scheduled job); training itself runs as
``labelbot model PROJECT --train`` at the lowest CPU priority, so Slack acknowledgements in
the server's process never wait for it. Nothing here imports scikit-learn.

Every worker host runs this check; the training claim (``bot.model.claims``) lets one of them
start the process. The claim is taken first and the due check repeated under it (another host may
have just recorded a version), then handed to the process, which renews it while it trains.
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
from bot.model import claims
from bot.resolution import trainable
from storage.db import read_scope, session_scope
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
        """Start the trainings that are due and that this host could claim; their project keys."""
        started = []
        for project in self.projects:
            proc = self._running.get(project.key)
            if proc is not None and proc.poll() is None:
                continue
            pid = self.ids[project.key]
            with read_scope(self.factory) as session:
                due = retrain_due(session, project, pid)
            if not due:
                continue
            holder = claims.new_holder()
            with session_scope(self.factory) as session:
                if not claims.claim(session, pid, holder, utcnow()):
                    log.info("another host trains %s now", project.key, extra={"project": project.key})
                    continue
            with read_scope(self.factory) as session:
                due = retrain_due(session, project, pid)
            if not due:  # another host recorded a version between the two checks
                self._release(pid, holder)
                continue
            log.info("starting a model training process for %s", project.key, extra={"project": project.key})
            command = [PYTHON, "-m", "bot.cli", "model", project.key, "--train"]
            env = {**os.environ, claims.HOLDER_SETTING: holder}
            try:
                proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, env=env)
            except OSError:
                self._release(pid, holder)
                raise
            self._running[project.key] = proc
            threading.Thread(
                target=self._wait, args=(project.key, pid, holder, proc, time.monotonic()), daemon=True
            ).start()
            started.append(project.key)
        return started

    def _release(self, project_id: int, holder: str) -> None:
        with session_scope(self.factory) as session:
            claims.release(session, project_id, holder)

    def _wait(self, key: str, pid: int, holder: str, proc: subprocess.Popen[bytes], started: float) -> None:
        returncode = proc.wait()
        try:  # the process releases it; one killed before that would hold it until the lease ends
            self._release(pid, holder)
        except Exception:
            log.exception("releasing the training claim of %s failed; it lapses by itself", key)
        if self.on_exit is not None:
            self.on_exit(key, time.monotonic() - started, returncode)

    def stop(self) -> None:
        for proc in self._running.values():
            if proc.poll() is None:
                proc.terminate()
