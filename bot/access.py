"""Who may do what: annotators (users or user-group members) and experts.

User-group membership comes from ``usergroups.users.list`` and is cached for a
few minutes, so a click costs no Web API call in the common case. A lookup
that fails denies (fail closed) and is logged with the group, never the token.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.config import ProjectConfig

__all__ = ["CACHE_SECONDS", "Directory"]

log = logging.getLogger(__name__)
CACHE_SECONDS = 300.0


class Directory:
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

    def fresh(self, ids: Iterable[str]) -> bool:
        """Can ``includes(ids, ...)`` answer from the cache alone, without calling Slack?"""
        now = self._clock()
        with self._lock:
            for group in (i for i in ids if i.startswith("S")):
                hit = self._cache.get(group)
                if hit is None or now - hit[0] >= self._ttl:
                    return False
        return True

    def includes(self, ids: Iterable[str], user: str) -> bool:
        """Is ``user`` one of ``ids`` or a member of a group among them?"""
        ids = list(ids)
        if user in ids:
            return True
        for group in (i for i in ids if i.startswith("S")):
            members = self.members(group)
            if members is not None and user in members:
                return True
        return False

    def groups_of(self, ids: Iterable[str], user: str) -> set[str]:
        return {g for g in ids if g.startswith("S") and user in (self.members(g) or ())}

    def may_label(self, project: ProjectConfig, user: str) -> bool:
        """An empty ``annotators`` list means anyone who can see the channel may label."""
        return not project.annotators or self.includes(project.annotators, user)
