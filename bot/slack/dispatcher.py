"""The dispatcher: one background thread that keeps each project's channel up to date.

Every round, per project: post escalation threads and audits that wait, refresh stale item
messages, then post queued items while the project has room (``max_open``). Woken early by a
click that closed an item; otherwise a round a second. Reminders and digests are scheduled
jobs (``bot.scheduler``), not rounds of this thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Config
from bot.items import sync_projects
from bot.slack.posting.audits import AuditPoster
from bot.slack.posting.items import ItemPoster
from bot.slack.posting.poster import SlackPoster
from bot.slack.posting.threads import ThreadPoster
from storage.db import session_scope
from storage.models import utcnow

__all__ = ["Dispatcher"]

log = logging.getLogger(__name__)


class Dispatcher:
    def __init__(
        self,
        factory: sessionmaker[Session],
        client: WebClient,
        config: Config,
        *,
        interval: float = 1.0,
        post_interval: float = 1.0,
        max_attempts: int = 6,
        backoff: float = 0.5,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.factory, self.config, self.interval = factory, config, interval
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.poster = SlackPoster(
            client,
            post_interval=post_interval,
            max_attempts=max_attempts,
            backoff=backoff,
            stopping=self._stop,
        )
        self.items = ItemPoster(self.poster, factory, now=now)
        self.threads = ThreadPoster(self.poster, self.items, factory)
        self.audits = AuditPoster(self.poster, factory)
        self.project_ids: dict[str, int] = {}

    def sync(self) -> dict[str, int]:
        """Make sure every configured project has its row; returns their ids by key."""
        with session_scope(self.factory) as session:
            self.project_ids = {k: p.id for k, p in sync_projects(session, self.config).items()}
        return self.project_ids

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> None:
        self.sync()
        self._thread = threading.Thread(target=self._loop, name="labelbot-dispatch", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout)

    def wake(self) -> None:
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:
                log.exception("dispatch round failed; retrying in %.1fs", self.interval)
            self._wake.wait(self.interval)
            self._wake.clear()

    # -- one round -------------------------------------------------------------------------------
    def run_once(self) -> None:
        if not self.project_ids:
            self.sync()
        for project in self.config.projects:
            if self._stop.is_set():
                return
            pid = self.project_ids[project.key]
            self.threads.post_pending(project, pid)
            self.audits.post_pending(project, pid)
            self.items.refresh(project, pid)
            if not self.poster.paused(project.key):
                while not self._stop.is_set() and self.items.post_next(project, pid):
                    pass
