"""Posting digests: the scheduled job (exactly once per period) and ``labelbot digest`` (now).

The message is posted with metadata naming (project, period); the chart goes into its thread
with the files v2 upload flow (``files_upload_v2``). When a digest is due and whether it was
posted is ``bot.digest``'s; what it says is ``bot.reports``'.

The scheduled digest also sends its private feedback (``bot.slack.posting.feedback``), after
the post and before the period is recorded as posted: a run that finds the period posted sends
nothing, and one that takes over a crashed run's claim sends only the DMs still missing.
``labelbot digest`` (an extra digest, on demand) sends none.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bot.charts import digest_chart
from bot.config import Config, ProjectConfig
from bot.digest import (
    DIGEST_EVENT_TYPE,
    DigestContent,
    DuePeriod,
    claim_period,
    current_period,
    digest_content,
    due_period,
    period_label,
    record_posted,
    release_claim,
)
from bot.items import sync_projects
from bot.names import Names
from bot.reports import Period, build_report
from bot.slack.blocks.digest import digest_message, stats_message
from bot.slack.calls import attempt
from bot.slack.names import names_for
from bot.slack.posting.feedback import FeedbackSender
from bot.slack.posting.poster import SlackPoster, Unavailable
from storage.db import read_scope, session_scope
from storage.models import utcnow

__all__ = ["Composed", "DigestPoster"]

log = logging.getLogger(__name__)
CLAIM_LOOKBACK = timedelta(hours=1)

Composed = tuple[dict[str, Any], bytes, dict[str, Any]]


class DigestPoster:
    def __init__(
        self,
        poster: SlackPoster,
        factory: sessionmaker[Session],
        config: Config,
        now: Callable[[], datetime] = utcnow,
        names: Names | None = None,
    ) -> None:
        self.poster, self.factory, self.config, self.now = poster, factory, config, now
        self.feedback = FeedbackSender(poster, names or names_for(poster.client))
        self._ids: dict[str, int] = {}

    def _project_id(self, key: str) -> int:
        if key not in self._ids:
            with session_scope(self.factory) as session:
                self._ids = {k: p.id for k, p in sync_projects(session, self.config).items()}
        return self._ids[key]

    def compose(self, project: ProjectConfig, start: datetime, end: datetime) -> Composed:
        """The digest message, its chart (PNG bytes) and the report behind them."""
        return self._render(project, self._content(project, start, end))

    def _content(self, project: ProjectConfig, start: datetime, end: datetime) -> DigestContent:
        pid = self._project_id(project.key)
        with read_scope(self.factory) as session:
            return digest_content(session, project, pid, start, end)

    @staticmethod
    def _render(project: ProjectConfig, content: DigestContent) -> Composed:
        message = digest_message(project, content.report, content.previous, content.label)
        chart = digest_chart(content.weeks, content.confusion, f"{project.name}: {content.label}")
        return message, chart, content.report

    def current_period(self, project: ProjectConfig) -> tuple[datetime, datetime]:
        return current_period(project.digest, self.now())

    def stats(self, project: ProjectConfig) -> dict[str, Any]:
        """``/label stats``: the current period's summary."""
        start, end = self.current_period(project)
        pid = self._project_id(project.key)
        with read_scope(self.factory) as session:
            report = build_report(session, project, pid, Period(start, end), dawid_skene=False)
        return stats_message(project, report, period_label(start, end, project.digest.timezone))

    def post(
        self, channel: str, message: dict[str, Any], chart: bytes, metadata: dict[str, Any] | None = None
    ) -> str:
        """Post a digest and its chart now; returns the message's ts."""
        ts = str(self.poster.post(channel, message, metadata)["ts"])
        self.upload_chart(channel, ts, chart)
        return ts

    def upload_chart(self, channel: str, ts: str, chart: bytes) -> None:
        self.poster.client.files_upload_v2(
            channel=channel,
            thread_ts=ts,
            content=chart,
            filename="quality-digest.png",
            title="Quality digest chart",
        )

    # -- the scheduled job ------------------------------------------------------------------------
    def post_due(self) -> int:
        """Post each project's due digest unless its period was already claimed; returns posts made.
        Across hosts, only the host that posts to the digest's channel (the poster's ``owns``) tries:
        the period's claim makes the digest once, the channel's lock keeps Slack's pace."""
        posted = 0
        for project in self.config.projects:
            if project.digest.channel is None:
                continue
            try:
                posted += self._post_due(project, project.digest.channel)
            except Exception:
                log.exception(
                    "digest for project %s failed; the next run retries",
                    project.key,
                    extra={"project": project.key},
                )
        return posted

    def _post_due(self, project: ProjectConfig, channel: str) -> int:
        now = self.now()
        due = due_period(project.digest, now)
        if due is None:
            return 0
        if not self.poster.owns(channel):
            log.info(
                "digest for %s, period from %s: already posted or being posted by the host that posts to %s",
                project.key,
                due.start.isoformat(),
                channel,
                extra={"project": project.key},
            )
            return 0
        pid = self._project_id(project.key)
        with session_scope(self.factory) as session:
            claim = claim_period(session, pid, due, channel, now)
            if claim is None:
                log.info(
                    "digest for %s, period from %s: already posted or being posted",
                    project.key,
                    due.start.isoformat(),
                    extra={"project": project.key},
                )
                return 0
            digest_id, claimed_at = claim.id, claim.claimed_at
        match = {"project": project.key, "period_start": due.start.isoformat()}
        try:
            ts = self.poster.find_by_metadata(channel, DIGEST_EVENT_TYPE, match, claimed_at - CLAIM_LOOKBACK)
        except Unavailable:  # whether it was posted is unknown: the next run looks again
            with session_scope(self.factory) as session:
                release_claim(session, digest_id, self.now())
            return 0
        if ts is None:
            content = self._content(project, due.start, due.end)
            message, chart, _ = self._render(project, content)
            metadata = {"event_type": DIGEST_EVENT_TYPE, "event_payload": match}
            response, failure = attempt(lambda: self.poster.post(channel, message, metadata))
            if failure is not None:
                with session_scope(self.factory) as session:
                    release_claim(session, digest_id, self.now())
                return 0
            ts = str(response["ts"])
            self._send_feedback(project, due, content, None)  # no run got this far before
            self._record(digest_id, ts)
            self.upload_chart(channel, ts, chart)
        else:  # a run that stopped after posting: its DMs may be partly sent (never before due.end)
            self._send_feedback(project, due, None, due.end)
            self._record(digest_id, ts)
        return 1

    def _send_feedback(
        self,
        project: ProjectConfig,
        due: DuePeriod,
        content: DigestContent | None,
        look_since: datetime | None,
    ) -> None:
        """The period's private feedback; a failure is logged and never keeps the digest unrecorded."""
        try:
            if content is None:
                content = self._content(project, due.start, due.end)
            feedback, label = content.feedback, content.label
            sent = self.feedback.send(project, feedback, label, due.start, look_since=look_since)
        except Exception:
            log.exception("private feedback for project %s failed", project.key)
            return
        if sent.sent or sent.failed:
            log.info(
                "private feedback for %s: %d sent, %d not sent, %d sent before",
                project.key,
                sent.sent,
                sent.failed,
                sent.already,
            )

    def _record(self, digest_id: int, ts: str) -> None:
        with session_scope(self.factory) as session:
            record_posted(session, digest_id, ts, self.now())
