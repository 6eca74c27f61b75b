"""Blind audits: sent to the expert in the audit channel (with a mention) or by direct message."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

from sqlalchemy.orm import Session, sessionmaker

from bot import audits
from bot.config import ProjectConfig
from bot.slack.blocks.audit import audit_request
from bot.slack.calls import attempt
from bot.slack.posting.poster import SlackPoster, Unavailable
from storage.db import read_scope, session_scope

__all__ = ["AUDIT_EVENT_TYPE", "AuditPoster"]

AUDIT_EVENT_TYPE = "labelbot_audit"
LOOKBACK = timedelta(minutes=5)
OPEN_DM = "conversations.open"  # its backoff's key


class AuditPoster:
    def __init__(self, poster: SlackPoster, factory: sessionmaker[Session]) -> None:
        self.poster, self.factory = poster, factory
        self._dms: dict[str, str] = {}  # expert -> their DM channel with the bot

    def post_pending(self, project: ProjectConfig, project_id: int) -> bool:
        """Send the audits that wait, oldest first, while their channel takes posts now; True when
        it sent any."""
        with read_scope(self.factory) as session:
            pending = audits.pending_audits(session, project_id)
        in_channel = project.quality.audit_channel
        done = False
        for audit in pending:
            channel = in_channel or self._dms.get(audit.expert)
            if channel is None:
                if self.poster.backoff.wait(OPEN_DM):
                    return done
                response, failure = attempt(
                    partial(self.poster.client.conversations_open, users=audit.expert)
                )
                if failure is not None:
                    self.poster.backoff.failed(OPEN_DM, failure)
                    return done
                self.poster.backoff.succeeded(OPEN_DM)
                channel = self._dms[audit.expert] = str(response["channel"]["id"])
            if not self.poster.ready(channel):
                continue  # this expert's DM waits; others' may not
            message = audit_request(
                project, audit.audit_id, audit.external_id, audit.text, audit.expert if in_channel else None
            )
            match = {"audit_id": audit.audit_id}
            oldest = audit.created_at - LOOKBACK

            def find(c: str = channel, m: dict[str, int] = match, since: datetime = oldest) -> str | None:
                return self.poster.find_by_metadata(c, AUDIT_EVENT_TYPE, m, since)

            try:
                ts = find()
            except Unavailable as exc:
                self.poster.backoff.failed(channel, exc.failure)
                return done
            if ts is None:
                ts = self.poster.post_once(
                    project.key,
                    channel,
                    message,
                    {"event_type": AUDIT_EVENT_TYPE, "event_payload": match},
                    find=find,
                )
            if ts is None:
                return done
            with session_scope(self.factory) as session:
                audits.audit_posted(session, audit.audit_id, channel, ts)
            done = True
        return done
