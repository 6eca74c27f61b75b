"""App Home: rendering a user's Home, and publishing it again when what it shows changes.

``views.publish`` is rate-limited (Slack's tier 4, per workspace), so a change only marks its
viewers dirty (:meth:`HomeRefresher.touch`); a background thread publishes each dirty user's
Home at most once per ``interval`` seconds, however many changes came meanwhile, and waits out
a 429's ``Retry-After`` before any other publish. Touched are the users a change concerns:
the admins of a paused or resumed project, the experts an escalation is routed to (groups
expanded to their members) and the project's admins when one opens or closes. Every user
touched is published, whether or not this process saw them open the Home: with ``--workers``
another process may have, and Slack shows the last published view as soon as the tab opens
(``app_home_opened`` then publishes it fresh).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import admin
from bot.authorization import Refusal, is_group
from bot.config import ProjectConfig
from bot.home import build_home
from bot.slack.blocks.home import home_view, pause_notice
from bot.slack.runtime import Runtime
from storage.models import utcnow

__all__ = ["HomeRefresher", "render_home", "set_paused"]

log = logging.getLogger(__name__)
DEFAULT_RETRY_AFTER = 30.0


def render_home(rt: Runtime, user: str, page: int = 1, notice: str | None = None) -> dict[str, Any]:
    """``user``'s Home view (page ``page``), read in one read transaction."""
    with rt.read() as session:
        home = build_home(session, rt.config, rt.authorizer, user, utcnow())
    return home_view(home, page, notice)


def set_paused(rt: Runtime, user: str, project: ProjectConfig, paused: bool) -> str:
    """Pause or resume ``project`` for ``user`` (admins only): what to tell them (mrkdwn, escaped).

    The Home button and ``/label pause|resume`` both come here. The project's other admins see
    the change on their Home; a resumed project's next item is posted at once.
    """
    permit = rt.authorizer.admin(project, user)
    if isinstance(permit, Refusal):
        return permit.reason
    with rt.write() as session:
        result = admin.pause(session, permit, utcnow()) if paused else admin.resume(session, permit, utcnow())
    if result.changed:
        rt.homes_changed(*(a for a in project.experts.admins if a != user))
        rt.wake_dispatcher()
    return pause_notice(project.name, paused, result.changed, result.paused_by, result.paused_at)


class HomeRefresher:
    """Publishes the Homes of touched users again, each at most once per ``interval`` seconds."""

    def __init__(
        self,
        client: WebClient,
        render: Callable[[str, int], dict[str, Any]],
        *,
        members: Callable[[str], frozenset[str] | None] | None = None,
        interval: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client, self.render, self.members = client, render, members
        self.interval, self.clock = interval, clock
        self._dirty: set[str] = set()
        self._last: dict[str, float] = {}  # user -> when their Home was last published
        self._pages: dict[str, int] = {}  # user -> the page they look at
        self._hold_until = 0.0  # a 429's Retry-After: no publish before then
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- what listeners and posters call ----------------------------------------------------------
    def touch(self, users: Iterable[str]) -> None:
        """What these users' (or these groups' members') Home shows changed."""
        with self._lock:
            self._dirty.update(u for u in users if u)
        self._wake.set()

    def published(self, user: str, page: int | None = None) -> None:
        """A listener published ``user``'s Home itself (the tab opened, a button): counts as a publish."""
        with self._lock:
            self._last[user] = self.clock()
            if page is not None:
                self._pages[user] = page

    def page(self, user: str) -> int:
        with self._lock:
            return self._pages.get(user, 1)

    # -- the work ---------------------------------------------------------------------------------
    def flush(self) -> float | None:
        """Publish every dirty user whose last publish is ``interval`` old; returns the seconds until
        the next one is due (None: nothing is dirty)."""
        self._expand_groups()
        now = self.clock()
        with self._lock:
            if now < self._hold_until:
                return self._hold_until - now
            due = sorted(u for u in self._dirty if now - self._last.get(u, float("-inf")) >= self.interval)
            self._dirty.difference_update(due)
        for i, user in enumerate(due):
            try:
                view = self.render(user, self.page(user))
                self.client.views_publish(user_id=user, view=view)
            except SlackApiError as exc:
                if exc.response.status_code == 429:
                    wait = _retry_after(exc)
                    with self._lock:
                        self._hold_until = self.clock() + wait
                        self._dirty.update(due[i:])
                    log.info("views.publish rate-limited: next Home in %.0fs", wait)
                    return wait
                log.warning("views.publish for %s failed: %s", user, exc.response.get("error"))
            except Exception:
                log.exception("publishing the Home of %s failed", user)
            with self._lock:
                self._last[user] = self.clock()
        return self._next_due()

    def _next_due(self) -> float | None:
        now = self.clock()
        with self._lock:
            if not self._dirty:
                return None
            return max(0.0, min(self._last.get(u, float("-inf")) + self.interval for u in self._dirty) - now)

    def _expand_groups(self) -> None:
        """Dirty user groups become their members (a lookup may wait on Slack: never under the lock)."""
        with self._lock:
            groups = [g for g in self._dirty if is_group(g)]
            self._dirty.difference_update(groups)
        members: set[str] = set()
        for group in groups:
            found = self.members(group) if self.members else None
            members.update(found or ())
        if members:
            with self._lock:
                self._dirty.update(members)

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self) -> HomeRefresher:
        self._thread = threading.Thread(target=self._loop, name="labelbot-homes", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def wake(self) -> None:
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                wait = self.flush()
            except Exception:
                log.exception("the Home refresher's round failed")
                wait = self.interval
            self._wake.wait(wait if wait is not None else None)


def _retry_after(exc: SlackApiError) -> float:
    headers = {str(k).lower(): v for k, v in (exc.response.headers or {}).items()}
    try:
        return max(1.0, float(headers.get("retry-after", DEFAULT_RETRY_AFTER)))
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER
