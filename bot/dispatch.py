"""The dispatcher: posts queued items, refreshes stale messages, posts escalation threads.

Guarantees:
- at most ``max_open`` open items per project channel, and at most one
  chat.postMessage per second per channel;
- an item is never lost and never posted twice in a round. An item is *claimed*
  (``post_attempted_at``) in one transaction, posted with message metadata naming
  it, and marked open with its ts in the next. If the process dies in between, the
  next claim first looks for that message in the channel's history and adopts it.
  If two processes post the same item, the conditional "mark open" lets one win and
  the other deletes its own message;
- progress updates are coalesced: a label only flags the message, and the
  refresher updates each flagged message once, within chat.update's rate limit.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.blocks.audit import audit_request
from bot.blocks.escalation import escalation_thread, reminder
from bot.blocks.item import item_message
from bot.config import Config, ProjectConfig
from bot.escalation import due_reminders
from bot.items import BOT_ACTOR, card_for, record_event, sync_projects
from bot.slack_calls import Failure, attempt
from storage.db import read_scope, session_scope
from storage.models import Audit, DispatchRank, Escalation, Item, ItemEvent, ItemStatus, Project, utcnow

__all__ = ["ITEM_EVENT_TYPE", "Dispatcher", "TokenBucket"]

log = logging.getLogger(__name__)
ITEM_EVENT_TYPE = "labelbot_item"
ESCALATION_EVENT_TYPE = "labelbot_escalation"
AUDIT_EVENT_TYPE = "labelbot_audit"


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


class Dispatcher:
    def __init__(
        self,
        factory: sessionmaker[Session],
        client: WebClient,
        config: Config,
        *,
        interval: float = 1.0,
        post_interval: float = 1.0,
        max_attempts: int = 6,
        backoff: float = 0.5,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.factory, self.client, self.config = factory, client, config
        self.interval, self.post_interval = interval, post_interval
        self.max_attempts, self.backoff = max_attempts, backoff
        self.now = now
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_post: dict[str, float] = {}
        self._paused_until: dict[str, float] = {}
        self._updates = TokenBucket(rate=50 / 60, burst=10)
        self._project_ids: dict[str, int] = {}
        self._rng = random.Random()
        # Test hook: called after a successful post, before it is recorded (simulates a crash).
        self.after_post: Callable[[Item | int], None] | None = None

    # -- lifecycle ---------------------------------------------------------------
    @property
    def project_ids(self) -> dict[str, int]:
        if not self._project_ids:
            self.sync()
        return self._project_ids

    def sync(self) -> None:
        """Make sure every configured project has its row."""
        with session_scope(self.factory) as session:
            self._project_ids = {k: p.id for k, p in sync_projects(session, self.config).items()}

    def start(self) -> None:
        self.sync()
        self._thread = threading.Thread(target=self._loop, name="labelbot-dispatch", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout)

    def wake(self) -> None:
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:
                log.exception("dispatch round failed; retrying in %.1fs", self.interval)
            self._wake.wait(self.interval)
            self._wake.clear()

    def _sleep(self, seconds: float) -> bool:
        """Sleep unless stopping; False when the dispatcher is stopping."""
        return not self._stop.wait(seconds)

    # -- one round -----------------------------------------------------------------
    def run_once(self) -> None:
        if not self._project_ids:
            self.sync()
        for project in self.config.projects:
            if self._stop.is_set():
                return
            pid = self._project_ids[project.key]
            self._post_escalations(project, pid)
            self._post_audits(project, pid)
            self._refresh(project, pid)
            if time.monotonic() >= self._paused_until.get(project.key, 0):
                while not self._stop.is_set() and self._post_next(project, pid):
                    pass

    # -- posting items -----------------------------------------------------------------
    def _post_next(self, project: ProjectConfig, project_id: int) -> bool:
        now = self.now()
        with session_scope(self.factory) as session:
            n_open = session.scalar(
                select(func.count())
                .select_from(Item)
                .where(Item.project_id == project_id, Item.status == ItemStatus.OPEN)
            )
            if (n_open or 0) >= project.max_open:
                return False
            item = self._next_candidate(session, project, project_id)
            if item is None:
                return False
            previous_attempt = item.post_attempted_at
            claimed = session.execute(
                update(Item)
                .where(
                    Item.id == item.id,
                    Item.status == ItemStatus.QUEUED,
                    Item.post_attempted_at.is_(None)
                    if previous_attempt is None
                    else Item.post_attempted_at == previous_attempt,
                )
                .values(post_attempted_at=now)
                .execution_options(synchronize_session=False)
            ).rowcount
            if not claimed:
                return True  # someone else took it; look again
            # Rendered as it will be once posted: open for labels.
            card = replace(card_for(session, item, project), status=ItemStatus.OPEN)
            item_id, round_ = item.id, item.round
        if previous_attempt is not None:
            ts = self._find_item_message(
                project.channel, item_id, round_, previous_attempt - timedelta(minutes=5)
            )
            if ts is not None:
                self._mark_open(project, item_id, round_, ts, adopted=True)
                return True
        ts = self._send_item(
            project, item_id, round_, item_message(card, project), now - timedelta(minutes=5)
        )
        if ts is None:
            return False
        if self.after_post is not None:
            self.after_post(item_id)
        if not self._mark_open(project, item_id, round_, ts):
            log.warning("item %s was posted by another process; deleting our copy %s", item_id, ts)
            attempt(lambda: self.client.chat_delete(channel=project.channel, ts=ts))
        return True

    def _next_candidate(self, session: Session, project: ProjectConfig, project_id: int) -> Item | None:
        """The next queued item: in the model's ranking, then (items the ranking does not hold yet)
        in import order; gold items mixed in at ``gold_rate``; a share ``explore`` drawn at random."""
        run = session.scalar(select(Project.dispatch_run).where(Project.id == project_id))
        # Exploration: a share of posts ignores the model, keeping the training data unbiased.
        # Without a ranking there is nothing to ignore: import order stands.
        explore = run is not None and project.model.explore > 0 and self._rng.random() < project.model.explore
        queued = [Item.project_id == project_id, Item.status == ItemStatus.QUEUED]
        rate = project.quality.gold_rate
        if rate > 0:
            want_gold = self._rng.random() < rate
            gold = Item.gold_label.is_not(None) if want_gold else Item.gold_label.is_(None)
            picked = self._pick(session, project_id, run, explore, [*queued, gold])
            if picked is not None:
                return picked
        return self._pick(session, project_id, run, explore, queued)

    @staticmethod
    def _pick(
        session: Session, project_id: int, run: int | None, explore: bool, where: list[Any]
    ) -> Item | None:
        if explore:
            return session.scalar(select(Item).where(*where).order_by(func.random()).limit(1))
        if run is not None:
            # One walk down the ranking's primary key, skipping items no longer queued.
            ranked = session.scalar(
                select(Item)
                .join(DispatchRank, DispatchRank.item_id == Item.id)
                .where(DispatchRank.project_id == project_id, DispatchRank.run == run, *where)
                .order_by(DispatchRank.rank)
                .limit(1)
            )
            if ranked is not None:
                return ranked
        return session.scalar(select(Item).where(*where).order_by(Item.import_seq).limit(1))

    def _chat_post(
        self,
        channel: str,
        payload: dict[str, Any],
        metadata: dict[str, Any] | None,
        thread_ts: str | None = None,
    ) -> Any:
        """Every post of the dispatcher: rendered text and blocks, never unfurled."""
        return self.client.chat_postMessage(
            channel=channel,
            thread_ts=thread_ts,
            text=payload["text"],
            blocks=payload["blocks"],
            metadata=metadata,
            unfurl_links=False,
            unfurl_media=False,
        )

    def _pace(self, channel: str) -> None:
        wait = self._last_post.get(channel, 0.0) + self.post_interval - time.monotonic()
        if wait > 0:
            self._sleep(wait)
        self._last_post[channel] = time.monotonic()

    def _post_with_retries(
        self, project: ProjectConfig, call: Callable[[], Any], find: Callable[[], str | None]
    ) -> str | None:
        """Post; retry 429s after Retry-After and 5xx/network errors with backoff, looking first."""
        delay = self.backoff
        for _ in range(self.max_attempts):
            response, failure = attempt(call)
            if failure is None:
                return str(response["ts"])
            if failure.kind == "permanent":
                self._pause(project, failure)
                return None
            if failure.kind == "ratelimited":
                if not self._sleep(failure.retry_after):
                    return None
                continue
            ts = find()  # ambiguous: Slack may have posted it
            if ts is not None:
                return ts
            if not self._sleep(delay):
                return None
            delay = min(delay * 2, 30.0)
        self._pause(project, Failure("ambiguous", "too many failures"))
        return None

    def _pause(self, project: ProjectConfig, failure: Failure) -> None:
        log.error(
            "posting to %s for project %s failed: %s; pausing this project for 60s",
            project.channel,
            project.key,
            failure.error,
        )
        self._paused_until[project.key] = time.monotonic() + 60

    def _find_item_message(self, channel: str, item_id: int, round_: int, oldest: datetime) -> str | None:
        """The ts of a message we already posted for (item, round), from the channel history."""
        return self._find_by_metadata(channel, ITEM_EVENT_TYPE, {"item_id": item_id, "round": round_}, oldest)

    def _find_by_metadata(
        self, channel: str, event_type: str, match: dict[str, Any], oldest: datetime
    ) -> str | None:
        """The ts of our message whose metadata carries ``match``, searching history since ``oldest``."""
        cursor = None
        for _ in range(20):
            response, failure = attempt(
                lambda c=cursor: self.client.conversations_history(
                    channel=channel,
                    oldest=f"{oldest.timestamp():.6f}",
                    include_all_metadata=True,
                    limit=200,
                    cursor=c,
                )
            )
            if failure is not None:
                return None
            for message in response.get("messages", []):
                meta = message.get("metadata") or {}
                payload = meta.get("event_payload") or {}
                if meta.get("event_type") == event_type and all(
                    payload.get(k) == v for k, v in match.items()
                ):
                    return str(message["ts"])
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None
        return None

    def _mark_open(
        self, project: ProjectConfig, item_id: int, round_: int, ts: str, adopted: bool = False
    ) -> bool:
        now = self.now()
        with session_scope(self.factory) as session:
            changed = session.execute(
                update(Item)
                .where(Item.id == item_id, Item.round == round_, Item.status == ItemStatus.QUEUED)
                .values(
                    status=ItemStatus.OPEN,
                    channel=project.channel,
                    message_ts=ts,
                    posted_at=now,
                    # An adopted message is re-rendered: labels may have changed since it was posted.
                    message_dirty=adopted,
                )
                .execution_options(synchronize_session=False)
            ).rowcount
            if changed:
                item = session.get(Item, item_id)
                if item is not None:
                    record_event(
                        session,
                        item,
                        BOT_ACTOR,
                        "posted",
                        detail={"channel": project.channel, "ts": ts, "adopted": adopted},
                        at=now,
                    )
        return bool(changed)

    def _send_item(
        self, project: ProjectConfig, item_id: int, round_: int, payload: dict[str, Any], since: datetime
    ) -> str | None:
        """Post an item's message with metadata naming (item, round); on an ambiguous failure,
        look in the channel history (since ``since``) before trying again."""
        metadata = {
            "event_type": ITEM_EVENT_TYPE,
            "event_payload": {"item_id": item_id, "round": round_, "project": project.key},
        }
        self._pace(project.channel)
        return self._post_with_retries(
            project,
            lambda: self._chat_post(project.channel, payload, metadata),
            find=lambda: self._find_item_message(project.channel, item_id, round_, since),
        )

    def _post_item_message(
        self, project: ProjectConfig, item_id: int, round_: int, payload: dict[str, Any]
    ) -> None:
        """Post the message of an item that closed without one; recorded only if it still has none."""
        since = self.now() - timedelta(minutes=5)
        ts = self._find_item_message(project.channel, item_id, round_, since)
        if ts is None:
            ts = self._send_item(project, item_id, round_, payload, since)
        if ts is None:
            return
        with session_scope(self.factory) as session:
            session.execute(
                update(Item)
                .where(Item.id == item_id, Item.message_ts.is_(None))
                .values(channel=project.channel, message_ts=ts, posted_at=self.now())
                .execution_options(synchronize_session=False)
            )

    # -- refreshing messages ---------------------------------------------------------
    def _refresh(self, project: ProjectConfig, project_id: int) -> None:
        # A read: rendering 20 messages in a write transaction held SQLite's lock, and with it the
        # clicks on the server's event loop, for up to 130 ms (benchmarks/clicks.py, 32 clients).
        # A label that lands meanwhile moves ``revision``, so the flag below stays set.
        with read_scope(self.factory) as session:
            rows = session.scalars(
                select(Item)
                .where(
                    Item.project_id == project_id, Item.message_dirty.is_(True), Item.message_ts.is_not(None)
                )
                .order_by(Item.updated_at)
                .limit(20)
            ).all()
            work = [
                (
                    i.id,
                    i.revision,
                    i.channel or project.channel,
                    i.message_ts,
                    item_message(card_for(session, i, project), project),
                )
                for i in rows
            ]
        for item_id, revision, channel, ts, payload in work:
            wait = self._updates.wait_time()
            if wait and not self._sleep(wait):
                return
            self._updates.take()
            _response, failure = attempt(
                lambda c=channel, t=ts, p=payload: self.client.chat_update(
                    channel=c, ts=t, text=p["text"], blocks=p["blocks"]
                )
            )
            if failure is not None:
                if failure.kind == "ratelimited":
                    self._sleep(failure.retry_after)
                    return
                if failure.kind == "ambiguous":
                    return
                log.error("chat.update of item %s failed: %s; not retrying", item_id, failure.error)
            with session_scope(self.factory) as session:
                session.execute(
                    update(Item)
                    .where(Item.id == item_id, Item.revision == revision)
                    .values(message_dirty=False)
                    .execution_options(synchronize_session=False)
                )

    # -- escalation threads ------------------------------------------------------------
    def _post_escalations(self, project: ProjectConfig, project_id: int) -> None:
        with session_scope(self.factory) as session:
            rows = session.execute(
                select(Escalation, Item)
                .join(Item, Item.id == Escalation.item_id)
                .where(
                    Item.project_id == project_id,
                    Escalation.status == "open",
                    Escalation.thread_ts.is_(None),
                )
                .limit(20)
            ).all()
            work = []
            unposted = []
            for esc, item in rows:
                if item.message_ts is None:
                    # Escalated without ever being posted (labels imported from a file): the item
                    # gets its message first, so that experts have a thread to decide in.
                    unposted.append(
                        (item.id, item.round, item_message(card_for(session, item, project), project))
                    )
                    continue
                counts = self._escalation_counts(session, esc)
                model = (
                    (item.model_label, item.model_confidence)
                    if item.model_label and item.model_confidence is not None
                    else None
                )
                payload = escalation_thread(
                    project,
                    esc.id,
                    esc.reason,
                    counts,
                    esc.experts or [],
                    raised_by=esc.raised_by,
                    note=esc.note,
                    suggested=esc.suggested_label,
                    model=model,
                )
                work.append((esc.id, item.channel or project.channel, item.message_ts, payload))
        for item_id, round_, item_payload in unposted:
            self._post_item_message(project, item_id, round_, item_payload)
        for esc_id, channel, parent, payload in work:
            metadata = {"event_type": ESCALATION_EVENT_TYPE, "event_payload": {"escalation_id": esc_id}}
            ts = self._post_with_retries(
                project,
                lambda c=channel, p=parent, pl=payload, m=metadata: self._chat_post(c, pl, m, thread_ts=p),
                find=lambda c=channel, p=parent, e=esc_id: self._find_escalation_reply(c, p, e),
            )
            if ts is None:
                return
            with session_scope(self.factory) as session:
                session.execute(update(Escalation).where(Escalation.id == esc_id).values(thread_ts=ts))

    @staticmethod
    def _escalation_counts(session: Session, esc: Escalation) -> dict[str, int]:
        event = session.scalar(
            select(ItemEvent)
            .where(ItemEvent.item_id == esc.item_id, ItemEvent.action == "escalated")
            .order_by(ItemEvent.id.desc())
            .limit(1)
        )
        return dict((event.detail or {}).get("counts", {})) if event else {}

    def _find_escalation_reply(self, channel: str, parent: str, escalation_id: int) -> str | None:
        response, failure = attempt(
            lambda: self.client.conversations_replies(channel=channel, ts=parent, include_all_metadata=True)
        )
        if failure is not None:
            return None
        for message in response.get("messages", []):
            meta = message.get("metadata") or {}
            if (
                meta.get("event_type") == ESCALATION_EVENT_TYPE
                and (meta.get("event_payload") or {}).get("escalation_id") == escalation_id
            ):
                return str(message["ts"])
        return None

    # -- audits -----------------------------------------------------------------------------
    def _post_audits(self, project: ProjectConfig, project_id: int) -> None:
        """Post pending blind audits to the audit channel, or to the expert by direct message."""
        with session_scope(self.factory) as session:
            rows = session.execute(
                select(Audit, Item.external_id, Item.text)
                .join(Item, Item.id == Audit.item_id)
                .where(Item.project_id == project_id, Audit.status == "pending")
                .order_by(Audit.id)
                .limit(10)
            ).all()
            work = [(a.id, a.expert, a.created_at, ext, text) for a, ext, text in rows]
        for audit_id, expert, created, ext, text in work:
            channel = project.quality.audit_channel
            if channel is None:
                response, failure = attempt(lambda e=expert: self.client.conversations_open(users=e))
                if failure is not None:
                    return
                channel = str(response["channel"]["id"])
            payload = audit_request(
                project, audit_id, ext, text, expert if project.quality.audit_channel else None
            )
            metadata = {"event_type": AUDIT_EVENT_TYPE, "event_payload": {"audit_id": audit_id}}
            ts = self._find_by_metadata(
                channel, AUDIT_EVENT_TYPE, {"audit_id": audit_id}, created - timedelta(minutes=5)
            )
            if ts is None:
                self._pace(channel)
                ts = self._post_with_retries(
                    project,
                    lambda c=channel, p=payload, m=metadata: self._chat_post(c, p, m),
                    find=lambda c=channel, a=audit_id, t=created: self._find_by_metadata(
                        c, AUDIT_EVENT_TYPE, {"audit_id": a}, t - timedelta(minutes=5)
                    ),
                )
            if ts is None:
                return
            with session_scope(self.factory) as session:
                session.execute(
                    update(Audit)
                    .where(Audit.id == audit_id, Audit.status == "pending")
                    .values(status="posted", channel=channel, message_ts=ts)
                )

    # -- reminders (called by the scheduler) ---------------------------------------------
    def send_reminders(self) -> int:
        """Post due reminders and fallbacks; each is marked sent in the same step, so none twice."""
        sent = 0
        now = self.now()
        for project in self.config.projects:
            pid = self._project_ids.get(project.key)
            if pid is None:
                continue
            with session_scope(self.factory) as session:
                due = [(e.id, kind) for e, kind in due_reminders(session, project, pid, now)]
            for esc_id, kind in due:
                try:
                    sent += self._remind(project, esc_id, kind, now)
                except RuntimeError as exc:
                    log.error("%s", exc)
        return sent

    def _remind(self, project: ProjectConfig, esc_id: int, kind: str, now: datetime) -> int:
        with session_scope(self.factory) as session:
            column = Escalation.fallback_at if kind == "fallback" else Escalation.reminded_at
            claimed = session.execute(
                update(Escalation)
                .where(Escalation.id == esc_id, Escalation.status == "open", column.is_(None))
                .values(
                    {
                        column.key: now,
                        **(
                            {"reminded_at": func.coalesce(Escalation.reminded_at, now)}
                            if kind == "fallback"
                            else {}
                        ),
                    }
                )
                .execution_options(synchronize_session=False)
            ).rowcount
            if not claimed:
                return 0
            esc = session.get(Escalation, esc_id)
            item = session.get(Item, esc.item_id) if esc else None
            if esc is None or item is None:
                return 0
            record_event(session, item, BOT_ACTOR, "reminded", detail={"kind": kind}, at=now)
            payload = reminder(esc.experts or [], project.experts.admins, kind == "fallback")
            channel, parent = item.channel or project.channel, item.message_ts
            # Posting inside the claim's transaction: if Slack fails, the claim rolls back
            # and the next run tries again; a crash after a post may repeat one reminder.
            _response, failure = attempt(lambda: self._chat_post(channel, payload, None, thread_ts=parent))
            if failure is not None:
                raise RuntimeError(f"reminder for escalation {esc_id} failed: {failure.error}")
            return 1
