"""Display names from Slack, cached: what people read instead of IDs (a :class:`bot.names.Names`).

A user's name is ``users.info``'s ``profile.display_name``, else ``real_name``, else ``name``
(scope ``users:read``); a user group's is ``@`` and its handle, else its name, from one
``usergroups.list`` for all groups (scope ``usergroups:read``). Answers are cached for
:data:`CACHE_SECONDS`, an ID Slack does not know (``user_not_found``) too. A lookup never raises:
whatever fails, the ID stands in. When Slack cannot answer at all (out of reach, rate limited,
refusing the token or lacking a scope), no call is tried again for :data:`QUIET_SECONDS`, so a
report over many people costs one failure, not one per person; :attr:`SlackNames.problem` says
what happened (the CLI prints it once).

``names_for(client)`` gives the one cache of a client, so every part of a process that holds the
same client (digests, App Home) shares it.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack.calls import classify

__all__ = ["CACHE_SECONDS", "QUIET_SECONDS", "SlackNames", "names_for"]

log = logging.getLogger(__name__)
CACHE_SECONDS = 3600.0
QUIET_SECONDS = 60.0
#: Slack's answers that concern one ID, not Slack or the app: the ID is its own name.
UNKNOWN_ID = {"user_not_found", "user_not_visible", "no_such_subteam"}
UNKNOWN: Any = object()  # a lookup Slack answered with "no such ID"


def _user_name(user: dict[str, Any]) -> str | None:
    profile = user.get("profile") or {}
    choices = (profile.get("display_name"), profile.get("real_name"), user.get("real_name"), user.get("name"))
    for value in choices:
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _group_name(group: dict[str, Any]) -> str | None:
    handle, name = group.get("handle"), group.get("name")
    if isinstance(handle, str) and handle.strip():
        return "@" + handle.strip()
    return name.strip() if isinstance(name, str) and name.strip() else None


class SlackNames:
    """A :class:`bot.names.Names` backed by the Web API; thread-safe."""

    def __init__(
        self,
        client: WebClient,
        ttl: float = CACHE_SECONDS,
        quiet: float = QUIET_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        *,
        log_failures: bool = True,
    ) -> None:
        """``log_failures=False``: the caller reports :attr:`problem` itself (the CLI, on stderr)."""
        self._client, self._ttl, self._quiet, self._clock = client, ttl, quiet, clock
        self._log_failures = log_failures
        self._lock = threading.Lock()
        self._users: dict[str, tuple[float, str]] = {}  # id -> (when fetched, name)
        self._groups: tuple[float, dict[str, str]] | None = None
        self._quiet_until = 0.0
        self._problem: str | None = None

    @property
    def problem(self) -> str | None:
        """Why names fell back to IDs because Slack could not answer (the first reason), or None."""
        with self._lock:
            return self._problem

    def names(self, ids: Iterable[str]) -> dict[str, str]:
        """Each distinct ID's name (one lookup per ID at most)."""
        return {i: self.name(i) for i in dict.fromkeys(ids)}

    def name(self, slack_id: str) -> str:
        if not isinstance(slack_id, str) or not slack_id:
            return str(slack_id)
        if slack_id.startswith("S"):
            return self._groups_now().get(slack_id, slack_id)
        if not slack_id.startswith(("U", "W")):
            return slack_id  # not a person (a bot label such as "model", an import's source)
        now = self._clock()
        with self._lock:
            hit = self._users.get(slack_id)
            if hit and now - hit[0] < self._ttl:
                return hit[1]
        response = self._call("users.info", lambda: self._client.users_info(user=slack_id))
        if response is None:
            return slack_id
        name = slack_id if response is UNKNOWN else (_user_name(response.get("user") or {}) or slack_id)
        with self._lock:
            self._users[slack_id] = (now, name)
        return name

    def _groups_now(self) -> dict[str, str]:
        now = self._clock()
        with self._lock:
            if self._groups is not None and now - self._groups[0] < self._ttl:
                return self._groups[1]
        response = self._call("usergroups.list", lambda: self._client.usergroups_list())
        if response is None:
            return {}
        groups: dict[str, str] = {}
        if response is not UNKNOWN:
            for group in response.get("usergroups") or []:
                name = _group_name(group)
                if isinstance(group.get("id"), str) and name:
                    groups[group["id"]] = name
        with self._lock:
            self._groups = (now, groups)
        return groups

    def _call(self, method: str, call: Callable[[], Any]) -> Any:
        """The response; :data:`UNKNOWN` when Slack does not know the ID; None when it cannot answer."""
        with self._lock:
            if self._clock() < self._quiet_until:
                return None
        try:
            return call()
        except Exception as exc:  # a name is never worth a failed report
            error = classify(exc).error if isinstance(exc, SlackApiError | OSError) else type(exc).__name__
        if error in UNKNOWN_ID:
            return UNKNOWN
        with self._lock:
            self._quiet_until = self._clock() + self._quiet
            first = self._problem is None
            if first:
                self._problem = f"{method} failed ({error})"
        if first and self._log_failures:
            log.warning("names fall back to IDs: %s failed (%s)", method, error)
        return None


_shared: weakref.WeakKeyDictionary[WebClient, SlackNames] = weakref.WeakKeyDictionary()
_shared_lock = threading.Lock()


def names_for(client: WebClient) -> SlackNames:
    """The one :class:`SlackNames` of ``client`` (created on first use): a process's parts share it."""
    with _shared_lock:
        names = _shared.get(client)
        if names is None:
            names = _shared[client] = SlackNames(client)
        return names
