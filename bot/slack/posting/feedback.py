"""Private feedback by direct message, sent with the scheduled digest (``DigestPoster``).

Each annotator below the project's bar gets their own figures, each admin (user groups expanded
through :class:`bot.slack.directory.Directory`) the list: ``conversations.open`` (``im:write``)
then ``chat.postMessage`` (``chat:write``). Every DM carries metadata naming (project, period,
kind), so a run that takes over a digest another run posted first looks in each DM's history
(``im:history``) and sends only what is missing. One person who cannot be reached (deactivated,
a bot, Slack failing) is logged by ID and error code and does not stop the others.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from bot.config import ProjectConfig
from bot.feedback import Feedback
from bot.names import Names
from bot.slack.blocks.feedback import admin_feedback_message, annotator_feedback_message
from bot.slack.calls import attempt
from bot.slack.directory import Directory
from bot.slack.posting.poster import SlackPoster, Unavailable

__all__ = ["FEEDBACK_EVENT_TYPE", "FeedbackSender", "Sent"]

log = logging.getLogger(__name__)
FEEDBACK_EVENT_TYPE = "labelbot_feedback"


@dataclass(frozen=True)
class Sent:
    sent: int = 0
    failed: int = 0
    already: int = 0  # found in the DM: an earlier run sent it


class FeedbackSender:
    def __init__(self, poster: SlackPoster, names: Names, directory: Directory | None = None) -> None:
        self.poster, self.names = poster, names
        self.directory = directory or Directory(poster.client)

    def send(
        self,
        project: ProjectConfig,
        feedback: Feedback,
        period_label: str,
        period_start: datetime,
        *,
        look_since: datetime | None = None,
    ) -> Sent:
        """DM each annotator below the bar, then each admin; nothing when no one is below.

        ``look_since``: an earlier run may have sent some of these (it posted the digest and
        stopped): look in each DM's history since then before sending."""
        if not feedback.annotators:
            return Sent()
        outcomes: list[str] = []
        key = {"project": project.key, "period_start": period_start.isoformat()}
        for person in feedback.annotators:
            message = annotator_feedback_message(project, person, feedback, period_label)
            match = {**key, "kind": "annotator"}
            outcomes.append(self._dm(project, person.user_id, message, match, look_since))
        admins = self._admins(project)
        if admins:
            message = admin_feedback_message(project, feedback, self.names, period_label)
            for admin in admins:
                outcomes.append(self._dm(project, admin, message, {**key, "kind": "admins"}, look_since))
        return Sent(outcomes.count("sent"), outcomes.count("failed"), outcomes.count("already"))

    def _admins(self, project: ProjectConfig) -> list[str]:
        people: list[str] = []
        for admin in project.experts.admins:
            if not admin.startswith("S"):
                people.append(admin)
                continue
            members = self.directory.members(admin)
            if members is None:
                log.warning("private feedback for %s: admin group %s could not be read", project.key, admin)
                continue
            people.extend(sorted(members))
        return list(dict.fromkeys(people))

    def _dm(
        self,
        project: ProjectConfig,
        user: str,
        message: dict[str, Any],
        match: dict[str, str],
        look_since: datetime | None,
    ) -> str:
        try:
            return self._open_and_post(project, user, message, match, look_since)
        except Exception:  # one person's DM never stops the others'
            log.exception("private feedback for project %s to %s failed", project.key, user)
            return "failed"

    def _open_and_post(
        self,
        project: ProjectConfig,
        user: str,
        message: dict[str, Any],
        match: dict[str, str],
        look_since: datetime | None,
    ) -> str:
        opened, failure = attempt(partial(self.poster.client.conversations_open, users=user))
        if failure is not None:
            return self._failed(project, user, failure.error)
        channel = str(opened["channel"]["id"])
        if look_since is not None:
            try:
                if self.poster.find_by_metadata(channel, FEEDBACK_EVENT_TYPE, match, look_since):
                    return "already"
            except Unavailable as exc:  # sent or not is unknown: a second copy would be worse
                return self._failed(project, user, exc.failure.error)
        metadata = {"event_type": FEEDBACK_EVENT_TYPE, "event_payload": match}
        _, failure = attempt(partial(self.poster.post, channel, message, metadata))
        if failure is not None:
            return self._failed(project, user, failure.error)
        return "sent"

    @staticmethod
    def _failed(project: ProjectConfig, user: str, error: str) -> str:
        log.warning("private feedback for project %s not sent to %s: %s", project.key, user, error)
        return "failed"
