"""The dispatcher: one background thread that keeps each project's channel up to date.

It is a scheduler of small steps that never waits on Slack. A round visits every project and
serves, in this order: escalation threads and audits that wait, stale item messages (as many as
``chat.update``'s rate limit allows now), then at most one new item (while the project has room,
``max_open``, and an admin has not paused it: ``bot.admin``); then direct-message sessions whose
item closed elsewhere move on (same ``chat.update`` budget). Each step makes a call only when
its channel may take one now (pacing, backoff after a transient failure:
``bot.slack.posting.poster``); otherwise it is skipped until its time comes. So a busy kind of
work (items closing as fast as they post) cannot starve another (refreshes, threads), one
project cannot starve another, and after an outage work resumes as soon as Slack answers. The
thread sleeps until the earliest step is due, at most ``interval``, or until woken by a click
that closed an item. Reminders and digests are scheduled jobs (``bot.scheduler``), not steps
of this thread.

Several worker hosts may run a dispatcher on one database: each serves only the channels whose
advisory lock it holds (``storage.advisory``; taken on the first round that finds it free, kept
until the process or its database connection goes), and the direct-message sessions only while
it holds their one lock. So each channel has one poster, and Slack's pace per channel holds
across hosts. On SQLite (one host) every lock is held.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.admin import paused_project_ids
from bot.config import Config
from bot.items import sync_projects
from bot.slack.posting.audits import AuditPoster
from bot.slack.posting.items import ItemPoster
from bot.slack.posting.poster import SlackPoster, channel_lock
from bot.slack.posting.sessions import SESSIONS_LOCK, SessionRefresher
from bot.slack.posting.threads import ThreadPoster
from storage.advisory import AdvisoryLocks
from storage.db import read_scope, session_scope
from storage.models import utcnow

__all__ = ["Dispatcher", "Round"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Round:
    """What a round did, and how long until the next one is worth running."""

    worked: bool  # some step called Slack successfully
    wait: float  # seconds until the earliest step that could not run now may run


class Dispatcher:
    def __init__(
        self,
        factory: sessionmaker[Session],
        client: WebClient,
        config: Config,
        *,
        interval: float = 1.0,
        post_interval: float = 1.0,
        backoff: float = 0.5,
        now: Callable[[], datetime] = utcnow,
        clock: Callable[[], float] = time.monotonic,
        locks: AdvisoryLocks | None = None,
    ) -> None:
        self.factory, self.config, self.interval = factory, config, interval
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.locks = locks or AdvisoryLocks(factory.kw.get("bind"))
        self.poster = SlackPoster(
            client,
            post_interval=post_interval,
            backoff=backoff,
            clock=clock,
            owns=self._owns,
        )
        self._elsewhere: set[str] = set()  # channels last seen held by another process
        self.items = ItemPoster(self.poster, factory, now=now)
        self.threads = ThreadPoster(self.poster, self.items, factory)
        self.audits = AuditPoster(self.poster, factory)
        self.sessions = SessionRefresher(self.items, factory)
        self.project_ids: dict[str, int] = {}

    def _owns(self, channel: str) -> bool:
        """This process holds ``channel``'s lock (taking it if free). A channel taken over from
        another process waits one post interval first: that process's last post may be recent."""
        held = self.locks.hold(channel_lock(channel))
        if not held:
            self._elsewhere.add(channel)
        elif channel in self._elsewhere:
            self._elsewhere.discard(channel)
            self.poster.hold_off(channel)
        return held

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
        self.locks.close()  # another host takes the channels at its next round

    def wake(self) -> None:
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            wait = self.interval
            try:
                done = self.run_once()
                wait = 0.0 if done.worked else done.wait
            except Exception:
                log.exception("dispatch round failed; retrying in %.1fs", self.interval)
            if wait > 0:
                self._wake.wait(wait)
                self._wake.clear()

    # -- one round -------------------------------------------------------------------------------
    def run_once(self) -> Round:
        """One step of each kind per project (see the module's docstring)."""
        if not self.project_ids:
            self.sync()
        worked = False
        waits = [self.interval]
        if not self.locks.check():  # a lost lock connection: its channels may be another host's now
            self._elsewhere.update(p.channel for p in self.config.projects)
        with read_scope(self.factory) as session:
            paused = paused_project_ids(session)  # by an admin: no new item (the rest goes on)
        for project in self.config.projects:
            if self._stop.is_set():
                break
            if not self.poster.owns(project.channel):
                continue  # another host posts to this channel (tried again next round)
            pid = self.project_ids[project.key]
            worked |= self.threads.post_pending(project, pid)
            worked |= self.audits.post_pending(project, pid)
            worked |= self.items.refresh(project, pid)
            if not self.poster.paused(project.key) and pid not in paused:
                worked |= self.items.post_next(project, pid)
            waits.append(self.poster.wait(project.channel))
        if not self._stop.is_set() and self.locks.hold(SESSIONS_LOCK):
            by_id = {self.project_ids[p.key]: p for p in self.config.projects}
            worked |= self.sessions.refresh(by_id)
        waits.append(self.items.refresh_wait())
        # A channel or chat.update that may be called now and was not had nothing to do: only
        # the steps held back (pacing, backoff) set an earlier time than ``interval``.
        return Round(worked, min(w for w in waits if w > 0))
