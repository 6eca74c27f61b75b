"""Posting digests: the scheduled job (exactly once per period) and ``labelbot digest`` (now).

The message is posted with metadata naming (project, period); the chart goes
into its thread with the files v2 upload flow (``files_upload_v2``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from bot.blocks.digest import digest_message, stats_message
from bot.charts import digest_chart
from bot.config import Config, ProjectConfig
from bot.digest import DIGEST_EVENT_TYPE, DuePeriod, claim_period, due_period
from bot.items import sync_projects
from bot.reports import Period, build_report, weekly_trend
from bot.slack_calls import attempt
from storage.db import read_scope, session_scope
from storage.models import Digest, utcnow

__all__ = ["Composed", "DigestPoster"]

log = logging.getLogger(__name__)

Composed = tuple[dict[str, Any], bytes, dict[str, Any]]


def period_label(start: datetime, end: datetime, tz: str) -> str:
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz)
    return f"{start.astimezone(zone):%a %d %b %Y %H:%M} to {end.astimezone(zone):%a %d %b %Y %H:%M} ({tz})"


class DigestPoster:
    def __init__(
        self,
        factory: sessionmaker[Session],
        client: WebClient,
        config: Config,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.factory, self.client, self.config, self.now = factory, client, config, now
        self._ids: dict[str, int] = {}

    def _project_id(self, key: str) -> int:
        if key not in self._ids:
            with session_scope(self.factory) as session:
                self._ids = {k: p.id for k, p in sync_projects(session, self.config).items()}
        return self._ids[key]

    def compose(self, project: ProjectConfig, start: datetime, end: datetime) -> Composed:
        """The digest message, its chart (PNG bytes) and the report behind them."""
        pid = self._project_id(project.key)
        extras: dict[str, Any] = {}
        with read_scope(self.factory) as session:
            report = build_report(session, project, pid, Period(start, end), dawid_skene=False, extras=extras)
            previous = build_report(
                session, project, pid, Period(start - (end - start), start), dawid_skene=False
            )
            weeks = weekly_trend(session, pid, end)
        label = period_label(start, end, project.digest.timezone)
        message = digest_message(project, report, previous, label)
        chart = digest_chart(weeks, extras["confusion"], f"{project.name}: {label}")
        return message, chart, report

    def current_period(self, project: ProjectConfig) -> tuple[datetime, datetime]:
        """From the last scheduled digest (or a week ago) to now: what ``digest`` and ``stats`` show."""
        now = self.now()
        due = due_period(project.digest, now)
        return (due.end if due else now - timedelta(days=7)), now

    def stats(self, project: ProjectConfig) -> dict[str, Any]:
        start, end = self.current_period(project)
        pid = self._project_id(project.key)
        with read_scope(self.factory) as session:
            report = build_report(session, project, pid, Period(start, end), dawid_skene=False)
        return stats_message(project, report, period_label(start, end, project.digest.timezone))

    def post(
        self,
        project: ProjectConfig,
        channel: str,
        message: dict[str, Any],
        chart: bytes,
        metadata: dict[str, Any] | None,
    ) -> str:
        ts = self._post_message(channel, message, metadata)
        self.upload_chart(channel, ts, chart)
        return ts

    def _post_message(self, channel: str, message: dict[str, Any], metadata: dict[str, Any] | None) -> str:
        response = self.client.chat_postMessage(
            channel=channel,
            text=message["text"],
            blocks=message["blocks"],
            metadata=metadata,
            unfurl_links=False,
            unfurl_media=False,
        )
        return str(response["ts"])

    def upload_chart(self, channel: str, ts: str, chart: bytes) -> None:
        self.client.files_upload_v2(
            channel=channel,
            thread_ts=ts,
            content=chart,
            filename="quality-digest.png",
            title="Quality digest chart",
        )

    # -- the scheduled job ------------------------------------------------------------------
    def post_due(self) -> int:
        """Post each project's due digest unless its period was already claimed; returns posts made."""
        posted = 0
        for project in self.config.projects:
            if project.digest.channel is None:
                continue
            try:
                posted += self._post_due(project, project.digest.channel)
            except Exception:
                log.exception("digest for project %s failed; the next run retries", project.key)
        return posted

    def _post_due(self, project: ProjectConfig, channel: str) -> int:
        now = self.now()
        due = due_period(project.digest, now)
        if due is None:
            return 0
        pid = self._project_id(project.key)
        with session_scope(self.factory) as session:
            claim = claim_period(session, pid, due, channel, now)
            if claim is None:
                log.info(
                    "digest for %s, period from %s: already posted or being posted",
                    project.key,
                    due.start.isoformat(),
                )
                return 0
            digest_id, claimed_at = claim.id, claim.claimed_at
        metadata = {
            "event_type": DIGEST_EVENT_TYPE,
            "event_payload": {"project": project.key, "period_start": due.start.isoformat()},
        }
        ts = self._find_posted(channel, project.key, due, claimed_at)
        if ts is None:
            message, chart, _ = self.compose(project, due.start, due.end)
            ts, failure = attempt(lambda: self._post_message(channel, message, metadata))
            if failure is not None:
                self._release(digest_id)
                return 0
            self._record(digest_id, ts)
            self.upload_chart(channel, ts, chart)
        else:
            self._record(digest_id, ts)
        return 1

    def _find_posted(self, channel: str, key: str, due: DuePeriod, since: datetime) -> str | None:
        response, failure = attempt(
            lambda: self.client.conversations_history(
                channel=channel,
                oldest=f"{(since - CLAIM_LOOKBACK).timestamp():.6f}",
                include_all_metadata=True,
                limit=200,
            )
        )
        if failure is not None:
            return None
        for message in response.get("messages", []):
            meta = message.get("metadata") or {}
            payload = meta.get("event_payload") or {}
            if (
                meta.get("event_type") == DIGEST_EVENT_TYPE
                and payload.get("project") == key
                and payload.get("period_start") == due.start.isoformat()
            ):
                return str(message["ts"])
        return None

    def _record(self, digest_id: int, ts: str) -> None:
        with session_scope(self.factory) as session:
            session.execute(
                update(Digest)
                .where(Digest.id == digest_id)
                .values(status="posted", message_ts=ts, posted_at=self.now())
            )

    def _release(self, digest_id: int) -> None:
        """A failed post gives the claim back at once, so the next run retries."""
        with session_scope(self.factory) as session:
            session.execute(
                update(Digest)
                .where(Digest.id == digest_id, Digest.status == "claimed")
                .values(claimed_at=self.now() - timedelta(days=1))
            )


CLAIM_LOOKBACK = timedelta(hours=1)
