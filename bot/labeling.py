"""The labeling rules: recording, changing, undoing and skipping labels, and closing items.

Plain Python over a ``Session``: nothing here knows about Slack. Each function
locks the item for the transaction, so concurrent clicks on one item are applied
one after another and the consensus check always sees every label. Each takes a
:class:`~bot.authorization.Permit` to label.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import (
    Boolean,
    Integer,
    Row,
    Table,
    and_,
    any_,
    bindparam,
    delete,
    select,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from bot import consensus, escalation, leases, queue
from bot.authorization import Action, Permit
from bot.cards import ItemCard, card_for
from bot.config import LabelOption, ProjectConfig
from bot.consensus import Outcome
from bot.items import (
    BOT_ACTOR,
    EVENTS,
    ITEMS,
    TOUCH_VALUES,
    NotFound,
    get_item_row,
    record_event,
    touch_message,
)
from bot.ordering import (
    STALE,
    TAKE_TURN_PG,
    Order,
    order_by_latest,
    take_turn,
    turn_latest,
)
from bot.overlap import Decision, needs_more_labels
from bot.refs import Click, ItemRef
from bot.resolution import resolve_item
from storage.driver import DriverStatement
from storage.models import Item, ItemStatus, Label, Resolution, Skip, utcnow

__all__ = [
    "LabelOutcome",
    "LabelResult",
    "close_if_complete",
    "closing_outcome",
    "current_votes",
    "lock_items",
    "overlap_decision",
    "record_label",
    "refused",
    "skip_item",
    "undo_label",
]

LABELS = cast(Table, Label.__table__)
LABEL_INSERT = LABELS.insert().inline()  # no RETURNING of the new id: nothing reads it
# The click path's statements, built once (see bot.items).
_VOTES = select(LABELS.c.user_id, LABELS.c.value).where(LABELS.c.item_id == bindparam("item_id"))
_CHANGE = (
    update(LABELS)
    .where(and_(LABELS.c.item_id == bindparam("b_item"), LABELS.c.user_id == bindparam("b_user")))
    .values(value=bindparam("b_value"), updated_at=bindparam("b_now"))
)

# On PostgreSQL a label click's statements are fused: the item, the user's latest action time and
# the votes in one read (below), the label, its history event, the message's refresh mark and the
# user's turn in one write (data-modifying CTEs). A round trip to the server costs the bot more
# CPU (driver, SQLAlchemy, the socket, the GIL handed over while it waits) than the statement
# costs the server, and a click group holds its transaction for the sum of its round trips. Both (and
# the lock) run on the driver itself (storage.driver: a third less CPU for a click's database work).
# SQLite runs in-process: single statements. Binds are prefixed: SQLAlchemy adds a parameter
# named like a column to a nested UPDATE's SET.
_LABEL_WRITE_PG = {
    "label": LABELS.insert().values(
        item_id=bindparam("b_item_id"),
        user_id=bindparam("b_user_id"),
        value=bindparam("b_value"),
        source=bindparam("b_source"),
        created_at=bindparam("b_at"),
        updated_at=bindparam("b_at"),
    ),
    "change": update(LABELS)
    .where(and_(LABELS.c.item_id == bindparam("b_item_id"), LABELS.c.user_id == bindparam("b_user_id")))
    .values(value=bindparam("b_value"), updated_at=bindparam("b_at")),
}
_TOUCH_IF_PG = (
    update(ITEMS)
    .where(and_(ITEMS.c.id == bindparam("b_item_id"), bindparam("b_touch", type_=Boolean)))
    .values({**TOUCH_VALUES, "updated_at": bindparam("b_at")})  # an onupdate default is not applied in a CTE
)
_LABEL_PG = {
    (action, turn): DriverStatement(
        EVENTS.insert()
        .values(
            item_id=bindparam("b_item_id"),
            project_id=bindparam("b_project_id"),
            actor=bindparam("b_user_id"),
            action=action,
            label=bindparam("b_value"),
            previous_label=bindparam("b_previous"),
            round=bindparam("b_round"),
            detail=bindparam("b_detail", type_=EVENTS.c.detail.type),
            created_at=bindparam("b_at"),
        )
        .add_cte(write.cte(f"{action}_write"), _TOUCH_IF_PG.cte("touched"), *([TAKE_TURN_PG] if turn else []))
    )
    for action, write in _LABEL_WRITE_PG.items()
    for turn in (False, True)  # True: the write also records the user's turn
}

# The read is safe in one statement because the item was locked by an earlier one (lock_items: a
# click group locks all its items at once, a click alone its own): every transaction that changed
# the item's labels (each locks the item first) had committed before this statement's snapshot.
LOCKED = "labelbot.locked_items"  # Session.info key: the items this transaction holds locked
_LOCK_PG = DriverStatement(
    select(ITEMS.c.id)
    .where(ITEMS.c.id == any_(bindparam("ids", type_=postgresql.ARRAY(Integer))))
    .order_by(ITEMS.c.id)
    .with_for_update()
)
_ITEM_VOTES = DriverStatement(  # plain SQL: SQLite runs it too when a test notes an item as locked
    select(
        ITEMS, turn_latest().label("latest"), LABELS.c.user_id.label("voter"), LABELS.c.value.label("vote")
    )
    .select_from(ITEMS.outerjoin(LABELS, LABELS.c.item_id == ITEMS.c.id))
    .where(ITEMS.c.id == bindparam("item_id"))
)


class LabelOutcome(StrEnum):
    RECORDED = "recorded"
    CHANGED = "changed"
    UNCHANGED = "unchanged"  # the same label again, or a second Skip: nothing recorded
    UNDONE = "undone"
    SKIPPED = "skipped"
    REFUSED = "refused"


@dataclass(frozen=True)
class LabelResult:
    kind: LabelOutcome
    card: ItemCard | None = None
    option: LabelOption | None = None
    reason: str | None = None  # for refusals: said to the user as is (already escaped)
    gold_miss: LabelOption | None = None  # the expected label, when a gold item was answered wrongly

    @property
    def still_open(self) -> bool:
        return self.card is not None and self.card.status == ItemStatus.OPEN

    @property
    def closed_item(self) -> bool:
        """The item was resolved or escalated by this answer."""
        return self.card is not None and self.card.status != ItemStatus.OPEN


def refused(reason: str) -> LabelResult:
    return LabelResult(LabelOutcome.REFUSED, reason=reason)


def current_votes(session: Session, item_id: int) -> dict[str, str]:
    return {user: value for user, value in session.execute(_VOTES, {"item_id": item_id})}


NOT_THIS_MESSAGE = "That button is not on this item's message."
GONE = "This item no longer exists."


def _open_item(
    session: Session,
    project: ProjectConfig,
    ref: ItemRef,
    click: Click | None,
    user: str,
    *,
    on_message: bool,
    row: Row[Any] | None = None,
) -> Row[Any] | LabelResult:
    """The item, locked, as a row (clicks update it by statement and load the ORM object only when
    they close it), if a click from ``click`` may act on it now.

    A click counts only in the item's channel, and (``on_message``: labels and Skip) on the
    item's current message: a button carrying another item's reference, or another project's,
    is refused. A click on the message of an item still being recorded as posted records it
    (:func:`bot.queue.open_from_click`). A click on the user's own direct-message session that
    shows the item (``bot.personal``) counts too, on an open or a queued item. ``row``: the item,
    already read under a lock this transaction holds."""
    try:
        item = row if row is not None else get_item_row(session, ref.item_id, lock=True)
    except NotFound:
        return refused(GONE)
    if item.round != ref.round:
        return refused("This message is from an earlier round; label the new message.")
    in_session = _in_session(session, item, click, user, answered=not on_message)
    if (
        item.status == ItemStatus.QUEUED
        and on_message
        and click is not None
        and not in_session
        and queue.open_from_click(session, item.id, item.round, click, project.channel, utcnow())
    ):
        item = get_item_row(session, ref.item_id)
    if not (item.status == ItemStatus.OPEN or (in_session and item.status == ItemStatus.QUEUED)):
        return refused(f"This item is already {item.status}; labeling is closed.")
    if (
        click is not None
        and not in_session
        and click.elsewhere(item.channel, item.message_ts, on_message=on_message)
    ):
        return refused(NOT_THIS_MESSAGE)
    return item


def _in_session(session: Session, item: Row[Any], click: Click | None, user: str, *, answered: bool) -> bool:
    """The click is on ``user``'s direct-message session showing the item (DM ids start with D)."""
    if click is None or not click.channel or not click.message_ts or not click.channel.startswith("D"):
        return False
    return leases.session_shows(
        session, user, item.id, item.round, click.channel, click.message_ts, answered=answered
    )


def record_label(
    session: Session,
    permit: Permit,
    ref: ItemRef,
    value: str,
    *,
    click: Click | None = None,
    source: str = "slack",
    now: datetime | None = None,
) -> LabelResult:
    """Record the permitted user's label on an open item, or replace their earlier one.

    The same label clicked again changes nothing and adds no history row; an older click than the
    user's latest action on the item changes nothing either (``bot.ordering``).
    """
    permit.require(Action.LABEL)
    project, user = permit.project, permit.user
    option = project.label(value)
    if option is None:
        return refused("That label is not one of this project's labels.")
    at = (click.at if click else None) or utcnow()
    read = _read_locked(session, ref.item_id, user)
    if read is not None and read.item is None:
        return refused(GONE)
    found = _open_item(session, project, ref, click, user, on_message=True, row=read.item if read else None)
    if isinstance(found, LabelResult):
        return found
    item = found
    turn_pending = False  # the order is known, the turn still to be recorded (with the write)
    if read is not None and item is read.item:
        order, votes = order_by_latest(read.latest, at), read.votes
        turn_pending = order == Order.NEWEST
    else:
        order, votes = _turn_and_votes(session, item.id, user, at)
    if order == Order.OLDER:
        return refused(STALE)
    now = now or utcnow()
    previous = votes.get(user)
    if previous == value or order == Order.SAME:
        if turn_pending:  # the same label again: nothing written, the user's latest time moves on
            take_turn(session, item.id, user, at)
        return LabelResult(
            LabelOutcome.UNCHANGED, card_for(session, item, project, n_labels=len(votes)), option
        )
    kind = LabelOutcome.RECORDED if previous is None else LabelOutcome.CHANGED
    votes[user] = value
    outcome = closing_outcome(votes, project, item.model_label, item.model_confidence)
    _write_label(
        session,
        item,
        user,
        value,
        previous,
        source=source,
        now=now,
        touch=outcome is None,
        turn_at=at if turn_pending else None,
    )
    if outcome is None:
        card = card_for(session, item, project, n_labels=len(votes))
    else:
        closing = session.get_one(Item, item.id)
        _close(session, closing, project, outcome, now)
        card = card_for(session, closing, project, n_labels=len(votes))
    miss = None
    if item.gold_label and value != item.gold_label and project.quality.gold_feedback:
        miss = project.label(item.gold_label)
    return LabelResult(kind, card, option, gold_miss=miss)


def lock_items(session: Session, item_ids: Iterable[int]) -> None:
    """Lock these items for the transaction, in one statement and in id order (PostgreSQL: a click
    group's first statement, see ``bot.group_commit``), and note them in the session."""
    ids = sorted({item_id for item_id in item_ids if item_id > 0})
    if not ids:
        return
    if session.get_bind().dialect.name == "postgresql":
        _LOCK_PG.execute(session, {"ids": ids})
    # SQLite: the transaction holds the database's write lock already (BEGIN IMMEDIATE).
    session.info.setdefault(LOCKED, set()).update(ids)


@dataclass(frozen=True)
class _LockedRead:
    item: Row[Any] | None  # None: no such item
    latest: datetime | None  # the user's latest action time on it
    votes: dict[str, str]


def _read_locked(session: Session, item_id: int, user: str) -> _LockedRead | None:
    """The item, the user's latest time and the votes in one statement, the item locked first if
    this transaction has not locked it yet (:func:`lock_items`). None on SQLite unless the item was
    noted as locked (there the usual path reads with single statements)."""
    if item_id not in session.info.get(LOCKED, ()):
        if session.get_bind().dialect.name != "postgresql":
            return None
        lock_items(session, [item_id])
    rows = _ITEM_VOTES.rows(session, {"item_id": item_id, "user_id": user})
    if not rows:
        return _LockedRead(None, None, {})
    votes = {row.voter: row.vote for row in rows if row.voter is not None}
    return _LockedRead(rows[0], rows[0].latest, votes)


def _turn_and_votes(session: Session, item_id: int, user: str, at: datetime) -> tuple[Order, dict[str, str]]:
    """:func:`bot.ordering.take_turn`, then the item's votes (none read for an older action)."""
    order = take_turn(session, item_id, user, at)
    return order, ({} if order == Order.OLDER else current_votes(session, item_id))


def _write_label(
    session: Session,
    item: Row[Any],
    user: str,
    value: str,
    previous: str | None,
    *,
    source: str,
    now: datetime,
    touch: bool,
    turn_at: datetime | None = None,
) -> None:
    """The user's label (new, or changed from ``previous``), its history event, with ``touch`` the
    mark that the item's message needs a refresh, and with ``turn_at`` the user's turn at that time
    (known to be their newest). Single statements, not the unit of work: the click's hot path."""
    action = "label" if previous is None else "change"
    # Gold items are served unmarked; every answer on one is scored in its history event.
    gold = {"gold_correct": value == item.gold_label} if item.gold_label else None
    touch = touch and bool(item.message_ts)
    if session.get_bind().dialect.name == "postgresql":
        params = {
            "b_item_id": item.id,
            "b_project_id": item.project_id,
            "b_user_id": user,
            "b_value": value,
            "b_previous": previous,
            "b_source": source,
            "b_round": item.round,
            "b_detail": gold,
            "b_at": now,
            "b_touch": touch,
            "b_acted_at": turn_at,
        }
        _LABEL_PG[action, turn_at is not None].execute(session, params)
        return
    if turn_at is not None:
        take_turn(session, item.id, user, turn_at)
    if previous is None:
        row = {"item_id": item.id, "user_id": user, "value": value, "source": source}
        session.execute(LABEL_INSERT, {**row, "created_at": now, "updated_at": now})
    else:
        session.execute(_CHANGE, {"b_item": item.id, "b_user": user, "b_value": value, "b_now": now})
    record_event(session, item, user, action, label=value, previous_label=previous, detail=gold, at=now)
    if touch:
        touch_message(session, item)


def closing_outcome(
    votes: dict[str, str],
    project: ProjectConfig,
    model_label: str | None = None,
    model_confidence: float | None = None,
) -> Outcome | None:
    """How the item closes with these votes (resolved or escalated), or None while it stays open."""
    overlap = project.annotators_per_item
    if overlap.fixed:
        outcome = consensus.decide(votes, overlap.min, project.agreement)
    else:
        # Dynamic overlap (see bot.overlap): fewer labels when people and a confident
        # model agree, more (up to max) otherwise, then the usual agreement rule.
        if overlap_decision(votes, project, model_label, model_confidence) == Decision.NEED_MORE:
            return None
        outcome = consensus.decide(votes, len(votes), project.agreement)
    return None if outcome.status == "open" else outcome


def overlap_decision(
    votes: dict[str, str], project: ProjectConfig, model_label: str | None, model_confidence: float | None
) -> Decision:
    """Dynamic overlap's decision (``bot.overlap``) with the project's settings."""
    overlap = project.annotators_per_item
    return needs_more_labels(
        votes,
        model_label,
        model_confidence,
        min_labels=overlap.min,
        max_labels=overlap.max,
        confidence_threshold=project.model.confident,
        agreement=project.agreement,
    )


def close_if_complete(
    session: Session,
    item: Item,
    project: ProjectConfig,
    *,
    now: datetime | None = None,
    votes: dict[str, str] | None = None,
) -> None:
    """Resolve by consensus or escalate once the item has all the labels it needs."""
    votes = current_votes(session, item.id) if votes is None else votes
    outcome = closing_outcome(votes, project, item.model_label, item.model_confidence)
    if outcome is not None:
        _close(session, item, project, outcome, now or utcnow())


def _close(session: Session, item: Item, project: ProjectConfig, outcome: Outcome, now: datetime) -> None:
    leases.release_item(session, item.id)
    item.agreement = outcome.share
    if outcome.status == "resolved" and outcome.winner is not None:
        resolve_item(
            session,
            item,
            project,
            label=outcome.winner,
            resolution=Resolution.CONSENSUS,
            actor=BOT_ACTOR,
            detail={"resolution": Resolution.CONSENSUS, "counts": outcome.counts},
            now=now,
        )
    else:
        escalation.open_escalation(
            session, item, project, reason="disagreement", counts=outcome.counts, now=now
        )


def undo_label(session: Session, permit: Permit, ref: ItemRef, *, click: Click | None = None) -> LabelResult:
    """Remove the permitted user's label from an open item (kept in the history). Undo sits on the
    user's confirmation, not on the item's message: only the channel is checked."""
    permit.require(Action.LABEL)
    found = _open_item(session, permit.project, ref, click, permit.user, on_message=False)
    if isinstance(found, LabelResult):
        return found
    item = found
    order = take_turn(session, item.id, permit.user, click.at if click else None)
    if order == Order.OLDER:
        return refused(STALE)
    existing = session.scalar(select(Label).where(Label.item_id == item.id, Label.user_id == permit.user))
    if existing is None or order == Order.SAME:
        return refused("You have no label on this item to undo.")
    record_event(session, item, permit.user, "undo", previous_label=existing.value)
    session.execute(delete(Label).where(Label.id == existing.id))
    touch_message(session, item)
    return LabelResult(
        LabelOutcome.UNDONE, card_for(session, item, permit.project), permit.project.label(existing.value)
    )


def skip_item(session: Session, permit: Permit, ref: ItemRef, *, click: Click | None = None) -> LabelResult:
    """Skip: recorded for the user, not a label; the bot never offers them the item again."""
    permit.require(Action.LABEL)
    found = _open_item(session, permit.project, ref, click, permit.user, on_message=True)
    if isinstance(found, LabelResult):
        return found
    item = found
    user = permit.user
    order = take_turn(session, item.id, user, click.at if click else None)
    if order == Order.OLDER:
        return refused(STALE)
    if session.scalar(select(Label.id).where(Label.item_id == item.id, Label.user_id == user)) is not None:
        return refused("You already labeled this item; use Undo first to skip it.")
    if session.scalar(select(Skip.id).where(Skip.item_id == item.id, Skip.user_id == user)) is not None:
        return LabelResult(LabelOutcome.UNCHANGED, card_for(session, item, permit.project))
    session.add(Skip(item_id=item.id, user_id=user))
    record_event(session, item, user, "skip")
    return LabelResult(LabelOutcome.SKIPPED, card_for(session, item, permit.project))
