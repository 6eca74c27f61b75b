"""What the listeners and jobs share: configuration, database, Slack client, directory."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from slack_sdk import WebClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.access import Directory
from bot.config import Config, ProjectConfig
from bot.group_commit import GroupCommit
from bot.responder import Responder
from storage.db import read_scope
from storage.models import Item, ItemStatus, Project

__all__ = ["Runtime"]

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    config: Config
    factory: sessionmaker[Session]
    client: WebClient
    directory: Directory
    dispatcher: object | None = None  # bot.dispatch.Dispatcher, when serving
    digests: Any = None  # bot.digest_poster.DigestPoster, when serving
    responder: Responder = field(default_factory=Responder)
    _projects: dict[int, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    commits: GroupCommit = field(init=False)  # the clicks' transactions (see bot.group_commit)
    _background: ThreadPoolExecutor = field(
        # Two threads: answers are short posts over kept-alive connections, and more threads
        # only contend for the GIL with the clicks (see bot.server).
        default_factory=lambda: ThreadPoolExecutor(max_workers=2, thread_name_prefix="labelbot-answer")
    )

    def __post_init__(self) -> None:
        self.commits = GroupCommit(self.factory)

    def project_of_item(self, session: Session, item_id: int) -> ProjectConfig | None:
        """The configured project an item belongs to (items never move, so this is cached)."""
        with self._lock:
            key = self._projects.get(item_id)
        if key is None:
            key = session.scalar(
                select(Project.key).join(Item, Item.project_id == Project.id).where(Item.id == item_id)
            )
            if key is None:
                return None
            with self._lock:
                if len(self._projects) > 100_000:
                    self._projects.clear()
                self._projects[item_id] = key
        try:
            return self.config.project(key)
        except ValueError:
            return None

    def project_for_item(self, item_id: int) -> ProjectConfig | None:
        """Like :meth:`project_of_item`, opening a read only on a cache miss (the click hot path)."""
        with self._lock:
            key = self._projects.get(item_id)
        if key is not None:
            try:
                return self.config.project(key)
            except ValueError:
                return None
        with read_scope(self.factory) as session:
            return self.project_of_item(session, item_id)

    def prime_projects(self) -> int:
        """Cache the project of every item that can be clicked now (open or escalated), so that
        the first click on each after a start costs no extra read; returns how many."""
        with read_scope(self.factory) as session:
            rows = session.execute(
                select(Item.id, Project.key)
                .join(Project, Project.id == Item.project_id)
                .where(Item.status.in_([ItemStatus.OPEN, ItemStatus.ESCALATED]))
                .limit(100_000)
            ).all()
        with self._lock:
            self._projects.update({item_id: key for item_id, key in rows})
        return len(rows)

    def after_ack(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn`` after the acknowledgement, off the request's path; failures are logged.

        On the server's event loop (clicks dispatched there) ``fn`` runs on the loop once the
        ack is on its way: the answers it sends are tasks of that loop (see bot.responder), and
        a hand-over to a thread cost more than the answer. Elsewhere, in a background thread.
        """

        def run() -> None:
            try:
                fn(*args)
            except Exception:
                log.exception("answering after the ack failed")

        if self.commits.defer(run):  # a click of a group: acknowledged once the group is committed
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._background.submit(run)
        else:
            loop.call_soon(run)

    def wake_dispatcher(self) -> None:
        wake = getattr(self.dispatcher, "wake", None)
        if wake is not None:
            wake()
