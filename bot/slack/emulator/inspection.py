"""The read side tests use, not a Slack API: what Slack holds (messages, threads, ephemeral
messages, views, App Home, files), the Web API calls the app made, and waiting for a
condition or for a settled Socket Mode connection.  Reads take the lock and return copies
(deep ones for messages and views), so nothing changes under a test while it looks.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any

from .core import ApiCall, EmulatorBase, FileRecord


class Inspection(EmulatorBase):
    """Read-side helpers for tests: what Slack holds, and waiting for it."""

    # ------------------------------------------------------------------ Slack's state, as tests read it

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """Top-level messages (and thread broadcasts) of a channel, oldest first, as Slack stores them."""
        with self._lock:
            ch = self._require_channel(channel)
            return [copy.deepcopy(m) for m in ch.messages if self._is_top_level(m)]

    def thread(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """Parent then replies, oldest first."""
        with self._lock:
            ch = self._require_channel(channel)
            return [copy.deepcopy(m) for m in ch.messages if m.get("thread_ts") == ts or m["ts"] == ts]

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        with self._lock:
            msg = self._find_message(self._require_channel(channel), ts)
            return copy.deepcopy(msg) if msg else None

    def dms(self, user: str) -> list[dict[str, Any]]:
        """Top-level messages in the app's DM with ``user``, oldest first (none before it is opened)."""
        with self._lock:
            ch = next((c for c in self._channels.values() if c.is_im and c.user == user), None)
            return [copy.deepcopy(m) for m in ch.messages if self._is_top_level(m)] if ch else []

    def ephemerals(self, user: str | None = None, channel: str | None = None) -> list[dict[str, Any]]:
        """Ephemeral messages still visible (newest last); each carries ``channel`` and ``recipient``."""
        with self._lock:
            ch_id = self._require_channel(channel).id if channel else None
            return [
                copy.deepcopy(e)
                for e in self._ephemerals
                if (user is None or e["recipient"] == user) and (ch_id is None or e["channel"] == ch_id)
            ]

    @property
    def views(self) -> dict[str, dict[str, Any]]:
        """All views ever opened/published, by id (check ``emu.view_is_open(id)`` for modals)."""
        with self._lock:
            return {vid: copy.deepcopy(rec["view"]) for vid, rec in self._views.items()}

    def view(self, view_id: str) -> dict[str, Any] | None:
        with self._lock:
            rec = self._views.get(view_id)
            return copy.deepcopy(rec["view"]) if rec else None

    def view_is_open(self, view_id: str) -> bool:
        with self._lock:
            rec = self._views.get(view_id)
            return bool(rec and rec["open"])

    def open_views(self, user: str) -> list[dict[str, Any]]:
        """The user's modal stack, root first (empty when no modal is open)."""
        with self._lock:
            return [copy.deepcopy(self._views[v]["view"]) for v in self._view_stacks.get(user, [])]

    def view_errors(self, view_id: str) -> dict[str, str]:
        """Errors last shown on a modal via ``response_action: errors``."""
        with self._lock:
            rec = self._views.get(view_id)
            return dict(rec["errors"]) if rec else {}

    def home(self, user: str) -> dict[str, Any] | None:
        with self._lock:
            vid = self._homes.get(user)
            return copy.deepcopy(self._views[vid]["view"]) if vid else None

    @property
    def files(self) -> dict[str, FileRecord]:
        with self._lock:
            return dict(self._files)

    # ------------------------------------------------------------------ Web API calls

    def calls_to(self, method: str) -> list[ApiCall]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def clear_calls(self) -> None:
        with self._lock:
            self.calls.clear()

    # ------------------------------------------------------------------ waiting

    def wait_for(
        self,
        predicate: Callable[[], Any],
        timeout: float = 10.0,
        interval: float = 0.02,
        message: str | None = None,
    ) -> Any:
        """Poll ``predicate`` until it returns something truthy (returned); TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            if time.monotonic() >= deadline:
                raise TimeoutError(message or f"condition not met within {timeout}s: {predicate}")
            time.sleep(interval)

    def wait_for_socket(self, timeout: float = 15.0) -> None:
        """Wait until a Socket Mode connection is up and any refresh hand-off has finished.

        After ``disconnect_socket`` slack_sdk's builtin client opens the new connection but only
        starts reading it once the old one is closed (up to ~3 s later), so payloads sent in
        between are acked late, as with real Slack; waiting here avoids that window.
        """

        def ready() -> bool:
            with self._lock:
                handing_off = any(c.refreshing and not c.closed for c in self._sockets)
            return not handing_off and self._active_socket() is not None

        self.wait_for(ready, timeout, message="no settled Socket Mode connection")

    @property
    def socket_connected(self) -> bool:
        return self._active_socket() is not None

    @property
    def socket_connections(self) -> int:
        with self._lock:
            return sum(1 for c in self._sockets if not c.closed)
