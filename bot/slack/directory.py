"""User-group membership from Slack, for the authorization rules (``bot.authorization``).

Members come from ``usergroups.users.list`` and are cached for a few minutes, so a click costs
no Web API call in the common case. A lookup that fails denies (fail closed) and is logged
with the group, never the token.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

__all__ = ["CACHE_SECONDS", "Directory"]

log = logging.getLogger(__name__)
CACHE_SECONDS = 300.0


class Directory:
    """A :class:`bot.authorization.Membership` backed by the Web API."""

    def __init__(
        self, client: WebClient, ttl: float = CACHE_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._client = client
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}
        self._lock = threading.Lock()

    def members(self, group_id: str) -> frozenset[str] | None:
        """Members of a user group, or None when Slack would not tell us."""
        now = self._clock()
        with self._lock:
            hit = self._cache.get(group_id)
            if hit and now - hit[0] < self._ttl:
                return hit[1]
        try:
            response = self._client.usergroups_users_list(usergroup=group_id)
        except SlackApiError as exc:
            log.warning("usergroups.users.list failed for %s: %s", group_id, exc.response.get("error"))
            return None
        users = frozenset(response.get("users") or [])
        with self._lock:
            self._cache[group_id] = (now, users)
        return users

    def cached(self, group_id: str) -> bool:
        """Can :meth:`members` answer from the cache alone, without calling Slack?"""
        with self._lock:
            hit = self._cache.get(group_id)
        return hit is not None and self._clock() - hit[0] < self._ttl
