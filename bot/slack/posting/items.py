"""Item messages: posting the next queued item, and refreshing messages that show stale progress.

Guarantees (with ``bot.queue``): at most ``max_open`` open items per project; an item is never
lost and never posted twice in a round. If the process dies between the post and the commit,
the next claim finds the message in the channel history and adopts it; if two processes post
the same item, the conditional "mark open" lets one win and the other deletes its own copy.
Progress updates are coalesced: a label only marks the message dirty, and :meth:`refresh`
updates each dirty message once, within ``chat.update``'s rate limit.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bot import queue
from bot.config import ProjectConfig
from bot.items import message_refreshed, stale_messages
from bot.queue import ClaimOutcome
from bot.slack.blocks.item import item_message
from bot.slack.calls import attempt
from bot.slack.metrics import METRICS
from bot.slack.posting.poster import Backoff, SlackPoster, TokenBucket, Unavailable
from storage.db import read_scope, session_scope
from storage.models import utcnow

__all__ = ["ITEM_EVENT_TYPE", "ItemPoster"]

log = logging.getLogger(__name__)
ITEM_EVENT_TYPE = "labelbot_item"
LOOKBACK = timedelta(minutes=5)  # how far before a claim to look for a message it may have left
UPDATES = "chat.update"


class ItemPoster:
    def __init__(
        self,
        poster: SlackPoster,
        factory: sessionmaker[Session],
        *,
        now: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
    ) -> None:
        self.poster, self.factory, self.now = poster, factory, now
        self.rng = rng or random.Random()
        self.updates = TokenBucket(rate=50 / 60, burst=10, clock=poster.clock)
        self.update_backoff = Backoff(poster.clock, poster.backoff.base)
        # Test hook: called after a successful post, before it is recorded (simulates a crash).
        self.after_post: Callable[[int], None] | None = None

    def post_next(self, project: ProjectConfig, project_id: int) -> bool:
        """Post the next queued item if the channel takes a post now; False when nothing was
        posted (full, empty, not ready, a failure to try again later)."""
        if not self.poster.ready(project.channel):
            return False
        now = self.now()
        with session_scope(self.factory) as session:
            claim = queue.claim_next(session, project, project_id, self.rng, now)
        if claim.outcome != ClaimOutcome.CLAIMED or claim.card is None:
            return False  # full, empty, or another process took it (looked at again next round)
        METRICS.claims.labels(project.key).inc()
        if claim.previous_attempt is not None:
            try:
                ts = self._find(
                    project.channel, claim.item_id, claim.round, claim.previous_attempt - LOOKBACK
                )
            except Unavailable as exc:
                self.poster.backoff.failed(project.channel, exc.failure)
                return False
            if ts is not None:
                self._mark_posted(project, claim.item_id, claim.round, ts, adopted=True)
                return True
        ts = self._send(
            project, claim.item_id, claim.round, item_message(claim.card, project), now - LOOKBACK
        )
        if ts is None:
            return False
        if self.after_post is not None:
            self.after_post(claim.item_id)
        if not self._mark_posted(project, claim.item_id, claim.round, ts):
            log.warning(
                "item %s was posted by another process; deleting our copy %s",
                claim.item_id,
                ts,
                extra={"item_id": claim.item_id, "project": project.key},
            )
            attempt(lambda: self.poster.client.chat_delete(channel=project.channel, ts=ts))
            return True
        METRICS.dispatch_lag.observe(max(0.0, (self.now() - now).total_seconds()))
        return True

    def post_unposted(
        self, project: ProjectConfig, item_id: int, round_: int, message: dict[str, Any]
    ) -> bool:
        """Post the message of an item that closed without one (recorded only if it still has
        none); False when it could not now."""
        if not self.poster.ready(project.channel):
            return False
        since = self.now() - LOOKBACK
        try:
            ts = self._find(project.channel, item_id, round_, since)
        except Unavailable as exc:
            self.poster.backoff.failed(project.channel, exc.failure)
            return False
        ts = ts or self._send(project, item_id, round_, message, since)
        if ts is None:
            return False
        with session_scope(self.factory) as session:
            queue.message_posted(session, project.channel, item_id, ts, self.now())
        return True

    def refresh(self, project: ProjectConfig, project_id: int) -> bool:
        """Update the messages marked stale, as many as ``chat.update``'s rate limit allows now
        (oldest change first); True when it updated any."""
        budget = 0 if self.update_backoff.wait(UPDATES) else self.updates.available()
        if not budget:
            return False
        # A read: rendering 20 messages in a write transaction held SQLite's lock, and with it the
        # clicks on the server's event loop, for up to 130 ms (benchmarks/clicks.py, 32 clients).
        with read_scope(self.factory) as session:
            stale = stale_messages(session, project, project_id, limit=min(budget, 20))
        done = False
        for message in stale:
            self.updates.take()
            payload = item_message(message.card, project)
            _response, failure = attempt(
                lambda m=message, p=payload: self.poster.client.chat_update(  # type: ignore[misc]
                    channel=m.channel, ts=m.ts, text=p["text"], blocks=p["blocks"]
                )
            )
            if failure is not None and failure.kind != "permanent":
                self.update_backoff.failed(UPDATES, failure)
                return done
            if failure is not None:
                log.error(
                    "chat.update of item %s failed: %s; not retrying",
                    message.item_id,
                    failure.error,
                    extra={"item_id": message.item_id},
                )
            else:
                self.update_backoff.succeeded(UPDATES)
            with session_scope(self.factory) as session:
                message_refreshed(session, message.item_id, message.revision)
            done = True
        return done

    def refresh_wait(self) -> float:
        """Seconds until :meth:`refresh` may call Slack again."""
        return max(self.update_backoff.wait(UPDATES), self.updates.wait_time())

    def _send(
        self, project: ProjectConfig, item_id: int, round_: int, message: dict[str, Any], since: datetime
    ) -> str | None:
        """Post an item's message with metadata naming (item, round); after an ambiguous failure,
        the next try looks in the channel history (since ``since``) first."""
        metadata = {
            "event_type": ITEM_EVENT_TYPE,
            "event_payload": {"item_id": item_id, "round": round_, "project": project.key},
        }
        return self.poster.post_once(
            project.key,
            project.channel,
            message,
            metadata,
            find=lambda: self._find(project.channel, item_id, round_, since),
        )

    def _find(self, channel: str, item_id: int, round_: int, oldest: datetime) -> str | None:
        """The ts of a message already posted for (item, round), from the channel history."""
        return self.poster.find_by_metadata(
            channel, ITEM_EVENT_TYPE, {"item_id": item_id, "round": round_}, oldest
        )

    def _mark_posted(
        self, project: ProjectConfig, item_id: int, round_: int, ts: str, adopted: bool = False
    ) -> bool:
        with session_scope(self.factory) as session:
            return queue.mark_posted(
                session, project.channel, item_id, round_, ts, self.now(), adopted=adopted
            )
