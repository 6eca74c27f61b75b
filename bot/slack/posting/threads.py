"""Escalation threads: the reply under an escalated item that mentions its experts, with the
votes (visible now that labeling is closed) and the decision buttons."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from bot import escalation
from bot.config import ProjectConfig
from bot.slack.blocks.escalation import escalation_thread
from bot.slack.blocks.item import item_message
from bot.slack.posting.items import ItemPoster
from bot.slack.posting.poster import SlackPoster
from storage.db import read_scope, session_scope

__all__ = ["ESCALATION_EVENT_TYPE", "ThreadPoster"]

ESCALATION_EVENT_TYPE = "labelbot_escalation"


class ThreadPoster:
    def __init__(self, poster: SlackPoster, items: ItemPoster, factory: sessionmaker[Session]) -> None:
        self.poster, self.items, self.factory = poster, items, factory
        # Called with the project and the routed experts once a thread is posted (App Home).
        self.posted: Callable[[ProjectConfig, list[str]], None] | None = None

    def post_pending(self, project: ProjectConfig, project_id: int) -> bool:
        """Post the threads of escalations that wait for one, oldest first, while the channel
        takes posts now; True when it posted any. An escalated item that has no message yet gets
        its message first."""
        if not self.poster.ready(project.channel):
            return False
        with read_scope(self.factory) as session:
            threads, unposted = escalation.pending_threads(session, project, project_id)
        done = False
        for item in unposted:
            if not self.items.post_unposted(
                project, item.item_id, item.round, item_message(item.card, project)
            ):
                return done
            done = True
        for thread in threads:
            message = escalation_thread(
                project,
                thread.escalation_id,
                thread.reason,
                thread.counts,
                thread.experts,
                raised_by=thread.raised_by,
                note=thread.note,
                suggested=thread.suggested,
                model=thread.model,
            )
            match = {"escalation_id": thread.escalation_id}
            ts = self.poster.post_once(
                project.key,
                thread.channel,
                message,
                {"event_type": ESCALATION_EVENT_TYPE, "event_payload": match},
                find=lambda t=thread, m=match: self.poster.find_reply(  # type: ignore[misc]
                    t.channel, t.parent_ts, ESCALATION_EVENT_TYPE, m
                ),
                thread_ts=thread.parent_ts,
            )
            if ts is None:
                return done
            with session_scope(self.factory) as session:
                escalation.thread_posted(session, thread.escalation_id, ts)
            if self.posted is not None:
                self.posted(project, list(thread.experts))
            done = True
        return done
