"""Direct-message sessions whose item changed elsewhere: labeled to the end in the channel,
escalated, sent back. Their messages move on to the user's next item, within the same
``chat.update`` budget as the item messages (one dispatcher step, ``bot.slack.dispatcher``).
Across hosts one dispatcher runs this step: the one holding ``SESSIONS_LOCK``."""

from __future__ import annotations

import logging
import random

from sqlalchemy.orm import Session, sessionmaker

from bot import personal
from bot.config import ProjectConfig
from bot.slack.blocks.session import session_message
from bot.slack.calls import attempt
from bot.slack.posting.items import UPDATES, ItemPoster
from storage.db import read_scope, session_scope

__all__ = ["SESSIONS_LOCK", "SessionRefresher"]

SESSIONS_LOCK = "dm-sessions"

log = logging.getLogger(__name__)


class SessionRefresher:
    def __init__(self, items: ItemPoster, factory: sessionmaker[Session]) -> None:
        self.items, self.factory = items, factory
        self.rng = random.Random()

    def refresh(self, projects: dict[int, ProjectConfig]) -> bool:
        """Move stale sessions on, as many as ``chat.update``'s rate limit allows now; True when
        it updated any."""
        items = self.items
        budget = 0 if items.update_backoff.wait(UPDATES) else items.updates.available()
        if not budget:
            return False
        with read_scope(self.factory) as session:
            stale = personal.stale_sessions(session, limit=min(budget, 20))
        done = False
        for session_id in stale:
            with session_scope(self.factory) as session:
                view = personal.refresh(session, session_id, projects, self.rng)
            if view is None or not view.channel or not view.ts:
                continue
            items.updates.take()
            payload = session_message(view)
            _response, failure = attempt(
                lambda v=view, p=payload: items.poster.client.chat_update(  # type: ignore[misc]
                    channel=v.channel, ts=v.ts, text=p["text"], blocks=p["blocks"]
                )
            )
            if failure is not None and failure.kind != "permanent":
                items.update_backoff.failed(UPDATES, failure)
                return done
            if failure is not None:
                log.error("chat.update of labeling session %s failed: %s", session_id, failure.error)
            done = True
        return done
