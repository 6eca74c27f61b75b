"""Personal queues: a user labels in their direct messages, one item after another.

A session is one message in the user's DM with the bot, replaced in place: the item to label
(its text, never others' votes), then a confirmation of the answer (with Undo) above the next
item, and a summary when the user stops. Items come in the project's order: items already open
in the channel first (finishing them frees the channel's places), then queued items in the
model's ranking with gold items mixed in and exploration, exactly as the channel's queue gives
them (:func:`bot.queue.next_queued`); never an item the user labeled or skipped.

Each item shown is leased to the user (``bot.leases``): a grant needs the item's labels plus the
others' live leases to be fewer than the labels it needs now, so people asking at once never get
more copies of an item than it can use. Labels go through :mod:`bot.labeling` like channel clicks
(authorization, ordering, consensus, escalation, gold feedback); only where the click may come
from differs. A user has one live session: starting another ends the first.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import Session

from bot import labeling, leases, queue
from bot.authorization import Action, Permit
from bot.cards import ItemCard, card_for
from bot.config import LabelOption, ProjectConfig
from bot.items import NotFound, get_item_row
from bot.labeling import LabelOutcome, LabelResult
from bot.overlap import Decision
from bot.refs import Click, ItemRef
from storage.models import Item, ItemStatus, Label, LabelingSession, Lease, Project, Skip, utcnow

__all__ = [
    "GONE",
    "Answered",
    "EndReason",
    "NotStarting",
    "SessionView",
    "Summary",
    "advance",
    "again",
    "end_session",
    "label",
    "labels_needed_now",
    "live_session",
    "message_recorded",
    "pick_next",
    "project_id",
    "project_of_session",
    "refresh",
    "skip",
    "stale_sessions",
    "start",
    "stop",
    "undo",
    "why_not_start",
]

#: Candidates read per query before the exact check under the item's lock.
CANDIDATES = 20


class EndReason(StrEnum):
    STOPPED = "stopped"  # the user pressed Stop
    REPLACED = "replaced"  # the user started another session
    EMPTY = "empty"  # nothing waited for the user when it started
    UNDELIVERED = "undelivered"  # its message could not be sent


@dataclass(frozen=True)
class Answered:
    """The user's last answer, shown above the next item."""

    card: ItemCard
    option: LabelOption | None  # None: skipped
    can_undo: bool
    gold_miss: LabelOption | None = None


@dataclass(frozen=True)
class Summary:
    labels: int
    skips: int
    seconds: float
    gold_right: int
    gold_wrong: int


@dataclass(frozen=True)
class SessionView:
    """What the session's message shows now."""

    session_id: int
    project: ProjectConfig
    user: str
    card: ItemCard | None = None  # the item to label; None: nothing waits (or the session ended)
    answered: Answered | None = None
    notice: str | None = None  # a line above (mrkdwn, escaped): why the item changed, a refusal
    labels: int = 0
    summary: Summary | None = None  # the session ended
    channel: str | None = None
    ts: str | None = None
    recorded: bool = False  # this request recorded (or changed) the user's label: counted in /metrics


class NotStarting(StrEnum):
    CHANNEL_ONLY = "channel_only"  # ``delivery: channel``
    NO_ITEMS = "no_items"  # the project has no row yet (nothing imported)
    PAUSED = "paused"


def why_not_start(session: Session, project: ProjectConfig, project_id: int | None) -> NotStarting | None:
    """Why no session can start in ``project`` now, or None."""
    if project.delivery == "channel":
        return NotStarting.CHANNEL_ONLY
    if project_id is None:
        return NotStarting.NO_ITEMS
    if session.scalar(select(Project.paused_at).where(Project.id == project_id)) is not None:
        return NotStarting.PAUSED
    return None


def project_id(session: Session, key: str) -> int | None:
    return session.scalar(select(Project.id).where(Project.key == key))


def project_of_session(session: Session, user: str, channel: str | None, ts: str | None) -> str | None:
    """The project key of ``user``'s live session whose message is (``channel``, ``ts``)."""
    if not channel or not ts:
        return None
    return session.scalar(
        select(Project.key)
        .join(LabelingSession, LabelingSession.project_id == Project.id)
        .where(
            LabelingSession.user_id == user,
            LabelingSession.channel == channel,
            LabelingSession.message_ts == ts,
            LabelingSession.ended_at.is_(None),
        )
    )


def live_session(session: Session, user: str) -> LabelingSession | None:
    return session.scalar(
        select(LabelingSession)
        .where(LabelingSession.user_id == user, LabelingSession.ended_at.is_(None))
        .order_by(LabelingSession.id.desc())
        .limit(1)
    )


def start(
    session: Session, permit: Permit, project_id: int, now: datetime
) -> tuple[LabelingSession, list[tuple[str, str, Summary]]]:
    """A new session for the permitted user; their live sessions end (``replaced``), and the
    messages of those that had one are returned with their summaries, to be replaced."""
    permit.require(Action.LABEL)
    ended = []
    for old in session.scalars(
        select(LabelingSession).where(
            LabelingSession.user_id == permit.user, LabelingSession.ended_at.is_(None)
        )
    ):
        summary = _end(session, old, EndReason.REPLACED, now)
        if old.channel and old.message_ts:
            ended.append((old.channel, old.message_ts, summary))
    row = LabelingSession(
        user_id=permit.user,
        project_id=project_id,
        labels=0,
        skips=0,
        gold_right=0,
        gold_wrong=0,
        started_at=now,
        last_active_at=now,
    )
    session.add(row)
    session.flush()
    return row, ended


def message_recorded(session: Session, session_id: int, channel: str, ts: str) -> None:
    """The session's message was posted."""
    session.execute(
        update(LabelingSession)
        .where(LabelingSession.id == session_id)
        .values(channel=channel, message_ts=ts)
        .execution_options(synchronize_session=False)
    )


# -- which item next --------------------------------------------------------------------------------
def labels_needed_now(
    votes: dict[str, str], project: ProjectConfig, model_label: str | None, model_confidence: float | None
) -> int:
    """How many labels the item needs with these votes: ``min`` at first; with dynamic overlap, one
    more while people and the model leave it undecided, up to ``max``."""
    overlap = project.annotators_per_item
    n = len(votes)
    if n < overlap.min:
        return overlap.min
    if overlap.fixed or n >= overlap.max:
        return n
    decision = labeling.overlap_decision(votes, project, model_label, model_confidence)
    return n + 1 if decision == Decision.NEED_MORE else n


def _candidate_filters(user: str, now: datetime, project: ProjectConfig) -> list[Any]:
    """Items the user has neither labeled nor skipped, and that are not full (labels plus others'
    live leases below the most the item can need: the exact check follows under the lock)."""
    n_labels = select(func.count()).select_from(Label).where(Label.item_id == Item.id).scalar_subquery()
    n_leases = (
        select(func.count())
        .select_from(Lease)
        .where(Lease.item_id == Item.id, Lease.user_id != user, *leases.counting(now))
        .scalar_subquery()
    )
    return [
        ~exists().where(Label.item_id == Item.id, Label.user_id == user),
        ~exists().where(Skip.item_id == Item.id, Skip.user_id == user),
        n_labels + n_leases < project.annotators_per_item.max,
    ]


def pick_next(
    session: Session,
    project: ProjectConfig,
    project_id: int,
    user: str,
    session_id: int | None,
    rng: random.Random,
    now: datetime,
) -> Item | None:
    """The next item for ``user``, leased to them; None when nothing waits for them."""
    tried: list[int] = []
    for _ in range(CANDIDATES):
        where = [*_candidate_filters(user, now, project)]
        if tried:
            where.append(Item.id.not_in(tried))
        item = session.scalar(
            select(Item)
            .where(Item.project_id == project_id, Item.status == ItemStatus.OPEN, *where)
            .order_by(Item.posted_at, Item.id)
            .limit(1)
        )
        if item is None:
            item = queue.next_queued(session, project, project_id, rng, now, where=where, leased=True)
        if item is None:
            return None
        if _try_lease(session, project, item.id, user, session_id, now):
            return item
        tried.append(item.id)
    return None


def _try_lease(
    session: Session, project: ProjectConfig, item_id: int, user: str, session_id: int | None, now: datetime
) -> bool:
    row = get_item_row(session, item_id, lock=True)
    if row.status not in (ItemStatus.OPEN, ItemStatus.QUEUED):
        return False
    votes = labeling.current_votes(session, item_id)
    if user in votes:
        return False
    needed = labels_needed_now(votes, project, row.model_label, row.model_confidence)
    return leases.grant(
        session, item_id, user, session_id, labels=len(votes), needed=needed, now=now, duration=project.lease
    )


def advance(
    session: Session, row: LabelingSession, project: ProjectConfig, rng: random.Random, now: datetime
) -> ItemCard | None:
    """Show the session the user's next item (leased to them), or nothing."""
    if row.item_id is not None:
        leases.release(session, row.user_id, item_id=row.item_id)
    paused = session.scalar(select(Project.paused_at).where(Project.id == row.project_id)) is not None
    item = None if paused else pick_next(session, project, row.project_id, row.user_id, row.id, rng, now)
    row.item_id = item.id if item else None
    row.item_round = item.round if item else None
    row.last_active_at = now
    if item is None:
        return None
    return replace(card_for(session, item, project), status=ItemStatus.OPEN)


# -- the session's buttons --------------------------------------------------------------------------
def _session_for(session: Session, permit: Permit, click: Click) -> LabelingSession | None:
    """The live session whose message the click is on, locked; None for any other message."""
    if not click.channel or not click.message_ts:
        return None
    return session.scalar(
        select(LabelingSession)
        .where(
            LabelingSession.user_id == permit.user,
            LabelingSession.channel == click.channel,
            LabelingSession.message_ts == click.message_ts,
            LabelingSession.ended_at.is_(None),
        )
        .with_for_update()
    )


GONE = "This labeling session has ended; start a new one with `/label next` or from the app's Home tab."


def _view(row: LabelingSession, permit: Permit, **kwargs: Any) -> SessionView:
    return SessionView(
        row.id,
        permit.project,
        permit.user,
        labels=row.labels,
        channel=row.channel,
        ts=row.message_ts,
        **kwargs,
    )


def _ended_view(permit: Permit, notice: str) -> SessionView:
    return SessionView(0, permit.project, permit.user, notice=notice)


def label(
    session: Session,
    permit: Permit,
    ref: ItemRef,
    value: str,
    click: Click,
    rng: random.Random,
    now: datetime | None = None,
) -> SessionView:
    """The user answered the session's item: record it, then show the next one."""
    now = now or utcnow()
    row = _session_for(session, permit, click)
    if row is None:
        return _ended_view(permit, GONE)
    result = labeling.record_label(session, permit, ref, value, click=click, now=now)
    return _after_answer(session, row, permit, ref, result, rng, now)


def skip(
    session: Session,
    permit: Permit,
    ref: ItemRef,
    click: Click,
    rng: random.Random,
    now: datetime | None = None,
) -> SessionView:
    now = now or utcnow()
    row = _session_for(session, permit, click)
    if row is None:
        return _ended_view(permit, GONE)
    result = labeling.skip_item(session, permit, ref, click=click)
    return _after_answer(session, row, permit, ref, result, rng, now)


def _after_answer(
    session: Session,
    row: LabelingSession,
    permit: Permit,
    ref: ItemRef,
    result: LabelResult,
    rng: random.Random,
    now: datetime,
) -> SessionView:
    project = permit.project
    if result.kind == LabelOutcome.REFUSED:
        if row.item_id == ref.item_id and not _labelable(session, ref):
            # The item got its labels (or closed) meanwhile: politely, on to the next one.
            card = advance(session, row, project, rng, now)
            return _view(row, permit, card=card, notice=result.reason)
        return _view(row, permit, card=_current_card(session, row, project), notice=result.reason)
    answered = None
    if result.card is not None and result.option is not None:
        if result.kind == LabelOutcome.RECORDED:
            row.labels += 1
            gold = _gold_of(session, ref.item_id)
            if gold is not None:
                right = gold == result.option.value
                row.gold_right += int(right)
                row.gold_wrong += int(not right)
        still_open = result.card.status in (ItemStatus.OPEN, ItemStatus.QUEUED)  # queued: DM-only so far
        answered = Answered(result.card, result.option, still_open, result.gold_miss)
    elif result.card is not None:  # skipped (now or before)
        row.skips += int(result.kind == LabelOutcome.SKIPPED)
        answered = Answered(result.card, None, False)
    row.previous_item_id = ref.item_id if answered and answered.can_undo else None
    card = advance(session, row, project, rng, now)
    recorded = result.kind in (LabelOutcome.RECORDED, LabelOutcome.CHANGED)
    return _view(row, permit, card=card, answered=answered, recorded=recorded)


def _labelable(session: Session, ref: ItemRef) -> bool:
    try:
        item = get_item_row(session, ref.item_id)
    except NotFound:
        return False
    return item.round == ref.round and item.status in (ItemStatus.OPEN, ItemStatus.QUEUED)


def _gold_of(session: Session, item_id: int) -> str | None:
    return session.scalar(select(Item.gold_label).where(Item.id == item_id))


def _current_card(session: Session, row: LabelingSession, project: ProjectConfig) -> ItemCard | None:
    if row.item_id is None:
        return None
    try:
        item = get_item_row(session, row.item_id)
    except NotFound:
        return None
    return replace(card_for(session, item, project), status=ItemStatus.OPEN)


def undo(
    session: Session, permit: Permit, ref: ItemRef, click: Click, now: datetime | None = None
) -> SessionView:
    """Undo the answer the session confirms: the item is shown again (the one shown instead is
    given back, its lease released)."""
    now = now or utcnow()
    row = _session_for(session, permit, click)
    if row is None:
        return _ended_view(permit, GONE)
    result = labeling.undo_label(session, permit, ref, click=click)
    project = permit.project
    if result.kind != LabelOutcome.UNDONE:
        return _view(row, permit, card=_current_card(session, row, project), notice=result.reason)
    row.labels = max(0, row.labels - 1)
    if row.item_id is not None and row.item_id != ref.item_id:
        leases.release(session, row.user_id, item_id=row.item_id)
    _try_lease(session, project, ref.item_id, row.user_id, row.id, now)  # best effort: a label is a label
    row.item_id, row.item_round, row.previous_item_id = ref.item_id, ref.round, None
    row.last_active_at = now
    text = labeling_undone_text(result)
    return _view(row, permit, card=_current_card(session, row, project), notice=text)


def labeling_undone_text(result: LabelResult) -> str:
    name = result.option.text if result.option else "your label"
    return f":leftwards_arrow_with_hook: Undone: your label *{name}* was removed; label the item again."


def again(
    session: Session, permit: Permit, click: Click, rng: random.Random, now: datetime | None = None
) -> SessionView:
    """ "Check again": the session looks for an item once more."""
    now = now or utcnow()
    row = _session_for(session, permit, click)
    if row is None:
        return _ended_view(permit, GONE)
    card = _current_card(session, row, permit.project) if row.item_id else None
    if card is None:
        card = advance(session, row, permit.project, rng, now)
    return _view(row, permit, card=card)


def stop(session: Session, permit: Permit, click: Click, now: datetime | None = None) -> SessionView:
    """Stop: the session ends with its summary; the item it showed is given back."""
    now = now or utcnow()
    row = _session_for(session, permit, click)
    if row is None:
        return _ended_view(permit, GONE)
    summary = _end(session, row, EndReason.STOPPED, now)
    return _view(row, permit, summary=summary)


def end_session(session: Session, session_id: int, reason: EndReason, now: datetime) -> None:
    """End a session that never reached the user (nothing to show, or its message failed)."""
    row = session.get(LabelingSession, session_id)
    if row is not None and row.ended_at is None:
        _end(session, row, reason, now)


def _end(session: Session, row: LabelingSession, reason: EndReason, now: datetime) -> Summary:
    leases.release(session, row.user_id, session_id=row.id)
    row.ended_at, row.end_reason = now, reason
    row.item_id = row.item_round = row.previous_item_id = None
    return summary_of(row, now)


def summary_of(row: LabelingSession, now: datetime) -> Summary:
    seconds = max(0.0, ((row.ended_at or now) - row.started_at).total_seconds())
    return Summary(row.labels, row.skips, seconds, row.gold_right, row.gold_wrong)


# -- sessions whose item changed elsewhere ------------------------------------------------------------
def stale_sessions(session: Session, limit: int = 20) -> list[int]:
    """Live sessions (with a message) showing an item no longer open for labels: labeled to the
    end in the channel, escalated, sent back. Their messages move on to the next item."""
    return list(
        session.scalars(
            select(LabelingSession.id)
            .join(Item, Item.id == LabelingSession.item_id)
            .where(
                LabelingSession.ended_at.is_(None),
                LabelingSession.message_ts.is_not(None),
                (Item.status.not_in([ItemStatus.OPEN, ItemStatus.QUEUED]))
                | (Item.round != LabelingSession.item_round),
            )
            .order_by(LabelingSession.id)
            .limit(limit)
        )
    )


def refresh(
    session: Session,
    session_id: int,
    projects: dict[int, ProjectConfig],
    rng: random.Random,
    now: datetime | None = None,
) -> SessionView | None:
    """Move a stale session on to its next item; None when it is no longer stale or its project is
    no longer configured."""
    now = now or utcnow()
    row = session.scalar(select(LabelingSession).where(LabelingSession.id == session_id).with_for_update())
    project = projects.get(row.project_id) if row is not None else None
    if row is None or project is None or row.ended_at is not None or row.item_id is None:
        return None
    if _labelable(session, ItemRef(row.item_id, row.item_round or 0)):
        return None
    permit = Permit(Action.LABEL, project, row.user_id)  # the session's own: it was permitted at start
    card = advance(session, row, project, rng, now)
    notice = (
        "The item you were shown got its labels meanwhile (or went to the experts); here is the next one."
    )
    return _view(row, permit, card=card, notice=notice)
