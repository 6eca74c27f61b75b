"""The Slack poster: every message the bot posts from background work goes through it.

It never waits. Each call either happens now or is refused with the time it may happen, so the
dispatcher (one thread) can serve other work meanwhile (``bot.slack.dispatcher``).

- Pacing: at most one ``chat.postMessage`` per second per channel (Slack's limit).
- Transient failures back off per channel and resume as soon as Slack answers: a 429 waits its
  ``Retry-After``; a 5xx or a network error (ambiguous: Slack may have posted) waits a short
  exponential backoff (0.5 s doubling to 3 s), and the next try of that post looks for it first.
- Idempotency: posts carry message metadata naming what they are (item and round, escalation,
  audit, digest period), and :meth:`find_by_metadata` finds them again in the channel history;
  a history that cannot be read (:class:`Unavailable`) counts as a transient failure, never
  as "not posted".
- A permanent error (``not_in_channel``, ``channel_not_found``) pauses that project for a minute.
- One poster per channel across hosts: a channel is ready only while ``owns(channel)`` says this
  process holds its lock (the dispatcher's: ``storage.advisory``), so the pace above is the
  channel's pace, whatever the number of worker processes.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.web import SlackResponse

from bot.slack.calls import Failure, attempt

__all__ = [
    "MAX_BACKOFF",
    "PAUSE_SECONDS",
    "Backoff",
    "SlackPoster",
    "TokenBucket",
    "Unavailable",
    "channel_lock",
]

log = logging.getLogger(__name__)
PAUSE_SECONDS = 60
MAX_BACKOFF = 3.0  # seconds: after an outage the next try comes at most this long after it ends


def channel_lock(channel: str) -> str:
    """The name of the lock whose holder alone posts to ``channel``."""
    return f"channel:{channel}"


class Unavailable(Exception):
    """Slack's history could not be read: whether a message was posted is unknown."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.error)
        self.failure = failure


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

    def available(self) -> int:
        """Whole tokens available now."""
        self.wait_time()
        return int(self._tokens)

    def take(self) -> None:
        self._tokens -= 1


class Backoff:
    """When a kind of call may be tried again after transient failures (per channel, or chat.update)."""

    def __init__(self, clock: Callable[[], float], base: float) -> None:
        self._clock, self.base = clock, base
        self._until: dict[str, float] = {}
        self._failures: dict[str, int] = {}  # transient failures since the last success
        self._errors: dict[str, int] = {}  # of which 5xx and network errors (the exponent)

    def wait(self, key: str) -> float:
        return max(0.0, self._until.get(key, 0.0) - self._clock())

    def failed(self, key: str, failure: Failure) -> float:
        """Record a transient failure; returns the wait before the next try: a 429's Retry-After,
        else ``base`` doubling with each error up to :data:`MAX_BACKOFF`."""
        count = self._failures[key] = self._failures.get(key, 0) + 1
        if failure.kind == "ratelimited":
            delay = failure.retry_after
        else:
            errors = self._errors[key] = self._errors.get(key, 0) + 1
            delay = min(self.base * 2 ** (errors - 1), MAX_BACKOFF)
        self._until[key] = self._clock() + delay
        if count == 1:
            log.warning("Slack failed for %s (%s); trying again in %.1fs", key, failure.error, delay)
        return delay

    def succeeded(self, key: str) -> None:
        count = self._failures.pop(key, 0)
        self._errors.pop(key, None)
        self._until.pop(key, None)
        if count:
            log.info("Slack answers again for %s after %d failed tries", key, count)


class SlackPoster:
    def __init__(
        self,
        client: WebClient,
        *,
        post_interval: float = 1.0,
        backoff: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
        owns: Callable[[str], bool] = lambda channel: True,
    ) -> None:
        self.client, self.post_interval, self.clock = client, post_interval, clock
        self.owns = owns
        self.backoff = Backoff(clock, backoff)
        self._next_slot: dict[str, float] = {}
        self._paused_until: dict[str, float] = {}
        self._uncertain: set[str] = set()  # posts whose last try may have landed: look first

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

    def wait(self, channel: str) -> float:
        """Seconds until ``channel`` may take a post (its pacing slot, and any backoff)."""
        slot = max(0.0, self._next_slot.get(channel, 0.0) - self.clock())
        return max(slot, self.backoff.wait(channel))

    def hold_off(self, channel: str) -> None:
        """No post to ``channel`` for one interval from now: another process may have just posted
        there (a channel taken over from another host)."""
        self._next_slot[channel] = max(self._next_slot.get(channel, 0.0), self.clock() + self.post_interval)

    def ready(self, channel: str) -> bool:
        """The channel takes a post from this process now: its lock is ours, and its time has come."""
        return self.wait(channel) == 0.0 and self.owns(channel)

    def post_once(
        self,
        project_key: str,
        channel: str,
        message: dict[str, Any],
        metadata: dict[str, Any],
        find: Callable[[], str | None],
        thread_ts: str | None = None,
    ) -> str | None:
        """Post now and return the message's ts; None when it cannot now (not ready, a failure:
        the caller tries again later, when :meth:`wait` says) or the project is paused.

        ``find`` looks for the message in Slack (it raises :class:`Unavailable` if it cannot
        tell); it runs first when an earlier try of the same post was ambiguous."""
        if not self.ready(channel):
            return None
        key = json.dumps([channel, thread_ts, metadata], sort_keys=True)
        if key in self._uncertain:
            try:
                found = find()
            except Unavailable as exc:
                self._failed(project_key, channel, exc.failure)
                return None
            if found is not None:
                self._uncertain.discard(key)
                self.backoff.succeeded(channel)
                return found
        self._next_slot[channel] = self.clock() + self.post_interval
        response, failure = attempt(lambda: self.post(channel, message, metadata, thread_ts))
        if failure is None:
            self._uncertain.discard(key)
            self.backoff.succeeded(channel)
            return str(response["ts"])
        if failure.kind == "ambiguous":
            self._uncertain.add(key)
        self._failed(project_key, channel, failure)
        return None

    def _failed(self, project_key: str, channel: str, failure: Failure) -> None:
        if failure.kind == "permanent":
            self.pause(project_key, channel, failure)
        else:
            self.backoff.failed(channel, failure)

    # -- pausing a project -------------------------------------------------------------------------
    def pause(self, project_key: str, channel: str, failure: Failure) -> None:
        log.error(
            "posting to %s for project %s failed: %s; pausing this project for %ds",
            channel,
            project_key,
            failure.error,
            PAUSE_SECONDS,
            extra={"project": project_key},
        )
        self._paused_until[project_key] = self.clock() + PAUSE_SECONDS

    def paused(self, project_key: str) -> bool:
        return self.clock() < self._paused_until.get(project_key, 0)

    def resume_all(self) -> None:
        """End every pause now (tests; an operator's restart does the same)."""
        self._paused_until.clear()

    # -- finding what was posted -------------------------------------------------------------------
    def find_by_metadata(
        self, channel: str, event_type: str, match: dict[str, Any], oldest: datetime
    ) -> str | None:
        """The ts of our message whose metadata carries ``match``, searching history since ``oldest``;
        :class:`Unavailable` when the history cannot be read."""
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
                raise Unavailable(failure)
            found = _matching(response.get("messages", []), event_type, match)
            if found is not None:
                return found
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None
        return None

    def find_reply(self, channel: str, parent: str, event_type: str, match: dict[str, Any]) -> str | None:
        """The ts of our reply in ``parent``'s thread whose metadata carries ``match``;
        :class:`Unavailable` when the thread cannot be read."""
        response, failure = attempt(
            lambda: self.client.conversations_replies(channel=channel, ts=parent, include_all_metadata=True)
        )
        if failure is not None:
            raise Unavailable(failure)
        return _matching(response.get("messages", []), event_type, match)


def _matching(messages: list[dict[str, Any]], event_type: str, match: dict[str, Any]) -> str | None:
    for message in messages:
        meta = message.get("metadata") or {}
        payload = meta.get("event_payload") or {}
        if meta.get("event_type") == event_type and all(payload.get(k) == v for k, v in match.items()):
            return str(message["ts"])
    return None
