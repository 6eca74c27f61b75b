"""The Slack poster: every message the bot posts from background work goes through it.

- Pacing: at most one ``chat.postMessage`` per second per channel (Slack's limit).
- Retries: a 429 is retried after ``Retry-After``; a 5xx or a network error is ambiguous
  (Slack may have posted), so the caller's ``find`` looks for the message first.
- Idempotency: posts carry message metadata naming what they are (item and round, escalation,
  audit, digest period), and :meth:`find_by_metadata` finds them again in the channel history.
- A permanent error (``not_in_channel``, ``channel_not_found``) pauses that project for a minute.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.web import SlackResponse

from bot.slack.calls import Failure, attempt

__all__ = ["PAUSE_SECONDS", "SlackPoster", "TokenBucket"]

log = logging.getLogger(__name__)
PAUSE_SECONDS = 60


class TokenBucket:
    """Client-side rate limit, so that we rarely meet Slack's 429 at all."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self._clock = rate, burst, clock
        self._tokens, self._last = burst, clock()

    def wait_time(self) -> float:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        return 0.0 if self._tokens >= 1 else (1 - self._tokens) / self.rate

    def take(self) -> None:
        self._tokens -= 1


class SlackPoster:
    def __init__(
        self,
        client: WebClient,
        *,
        post_interval: float = 1.0,
        max_attempts: int = 6,
        backoff: float = 0.5,
        stopping: threading.Event | None = None,
    ) -> None:
        self.client = client
        self.post_interval, self.max_attempts, self.backoff = post_interval, max_attempts, backoff
        self.stopping = stopping or threading.Event()
        self._last_post: dict[str, float] = {}
        self._paused_until: dict[str, float] = {}

    def post(
        self,
        channel: str,
        message: dict[str, Any],
        metadata: dict[str, Any] | None = None,
        thread_ts: str | None = None,
    ) -> SlackResponse:
        """``chat.postMessage`` with rendered text and blocks, never unfurled: every post's one call."""
        return self.client.chat_postMessage(
            channel=channel,
            thread_ts=thread_ts,
            text=message["text"],
            blocks=message["blocks"],
            metadata=metadata,
            unfurl_links=False,
            unfurl_media=False,
        )

    def post_with_retries(
        self,
        project_key: str,
        channel: str,
        message: dict[str, Any],
        metadata: dict[str, Any],
        find: Callable[[], str | None],
        thread_ts: str | None = None,
    ) -> str | None:
        """Post and return the message's ts; None when it could not (the project may be paused)."""
        delay = self.backoff
        for _ in range(self.max_attempts):
            response, failure = attempt(lambda: self.post(channel, message, metadata, thread_ts))
            if failure is None:
                return str(response["ts"])
            if failure.kind == "permanent":
                self.pause(project_key, channel, failure)
                return None
            if failure.kind == "ratelimited":
                if not self.sleep(failure.retry_after):
                    return None
                continue
            ts = find()  # ambiguous: Slack may have posted it
            if ts is not None:
                return ts
            if not self.sleep(delay):
                return None
            delay = min(delay * 2, 30.0)
        self.pause(project_key, channel, Failure("ambiguous", "too many failures"))
        return None

    def pace(self, channel: str) -> None:
        """Wait for the channel's next posting slot."""
        wait = self._last_post.get(channel, 0.0) + self.post_interval - time.monotonic()
        if wait > 0:
            self.sleep(wait)
        self._last_post[channel] = time.monotonic()

    def sleep(self, seconds: float) -> bool:
        """Sleep unless stopping; False when the poster is stopping."""
        return not self.stopping.wait(seconds)

    # -- pausing a project -------------------------------------------------------------------------
    def pause(self, project_key: str, channel: str, failure: Failure) -> None:
        log.error(
            "posting to %s for project %s failed: %s; pausing this project for %ds",
            channel,
            project_key,
            failure.error,
            PAUSE_SECONDS,
        )
        self._paused_until[project_key] = time.monotonic() + PAUSE_SECONDS

    def paused(self, project_key: str) -> bool:
        return time.monotonic() < self._paused_until.get(project_key, 0)

    def resume_all(self) -> None:
        """End every pause now (tests; an operator's restart does the same)."""
        self._paused_until.clear()

    # -- finding what was posted -------------------------------------------------------------------
    def find_by_metadata(
        self, channel: str, event_type: str, match: dict[str, Any], oldest: datetime
    ) -> str | None:
        """The ts of our message whose metadata carries ``match``, searching history since ``oldest``."""
        cursor = None
        for _ in range(20):
            response, failure = attempt(
                lambda c=cursor: self.client.conversations_history(  # type: ignore[misc]
                    channel=channel,
                    oldest=f"{oldest.timestamp():.6f}",
                    include_all_metadata=True,
                    limit=200,
                    cursor=c,
                )
            )
            if failure is not None:
                return None
            found = _matching(response.get("messages", []), event_type, match)
            if found is not None:
                return found
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None
        return None

    def find_reply(self, channel: str, parent: str, event_type: str, match: dict[str, Any]) -> str | None:
        """The ts of our reply in ``parent``'s thread whose metadata carries ``match``."""
        response, failure = attempt(
            lambda: self.client.conversations_replies(channel=channel, ts=parent, include_all_metadata=True)
        )
        if failure is not None:
            return None
        return _matching(response.get("messages", []), event_type, match)


def _matching(messages: list[dict[str, Any]], event_type: str, match: dict[str, Any]) -> str | None:
    for message in messages:
        meta = message.get("metadata") or {}
        payload = meta.get("event_payload") or {}
        if meta.get("event_type") == event_type and all(payload.get(k) == v for k, v in match.items()):
            return str(message["ts"])
    return None
