"""Escalation reminders and admin fallbacks, posted in the item's thread (a scheduled job).

Each is claimed in the database and posted inside the claim's transaction: if Slack fails, the
claim rolls back and the next run tries again; a restart loses none and repeats none (only a
crash in the instant between Slack accepting a reminder and the commit could repeat that one).
Across hosts, a project's reminders are sent by the host that posts to its channel (the poster's
``owns``, the dispatcher's lock): Slack's pace in that channel stays one poster's, and no other
host waits on the claimed row while the first one talks to Slack.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from bot import escalation
from bot.config import Config, ProjectConfig
from bot.escalation import ReminderKind
from bot.slack.blocks.escalation import reminder
from bot.slack.calls import attempt
from bot.slack.posting.poster import SlackPoster
from storage.db import read_scope, session_scope
from storage.models import utcnow

__all__ = ["ReminderPoster"]

log = logging.getLogger(__name__)


class ReminderPoster:
    def __init__(
        self,
        poster: SlackPoster,
        factory: sessionmaker[Session],
        config: Config,
        project_ids: dict[str, int],
        *,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.poster, self.factory, self.config, self.project_ids, self.now = (
            poster,
            factory,
            config,
            project_ids,
            now,
        )

    def send_due(self) -> int:
        """Post the due reminders and fallbacks; returns how many were sent."""
        sent = 0
        now = self.now()
        for project in self.config.projects:
            pid = self.project_ids.get(project.key)
            if pid is None or not self.poster.owns(project.channel):
                continue
            with read_scope(self.factory) as session:
                due = [(e.id, kind) for e, kind in escalation.due_reminders(session, project, pid, now)]
            for escalation_id, kind in due:
                try:
                    sent += self._remind(project, escalation_id, kind, now)
                except _NotSent as exc:
                    log.error("%s", exc)
        return sent

    def _remind(self, project: ProjectConfig, escalation_id: int, kind: ReminderKind, now: datetime) -> int:
        with session_scope(self.factory) as session:
            claim = escalation.claim_reminder(session, project, escalation_id, kind, now)
            if claim is None:
                return 0
            message = reminder(claim.experts, project.experts.admins, claim.kind == "fallback")
            _response, failure = attempt(
                lambda: self.poster.post(claim.channel, message, thread_ts=claim.parent_ts)
            )
            if failure is not None:  # raised inside the transaction: the claim rolls back
                raise _NotSent(f"reminder for escalation {escalation_id} failed: {failure.error}")
            return 1


class _NotSent(Exception):
    """A claimed reminder that Slack did not take."""
