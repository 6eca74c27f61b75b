"""Escalation to experts: routing, who may escalate what, deciding, sending back, threads, reminders.

The first decision wins: ``decide`` and ``send_back`` flip the escalation from ``open`` with a
conditional UPDATE, so of two experts deciding at once (two threads or two bot processes on one
database) exactly one changes a row; the other learns who won.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from bot import leases
from bot.authorization import Action, Permit
from bot.cards import ItemCard, card_for
from bot.config import ProjectConfig
from bot.consensus import tally
from bot.items import BOT_ACTOR, get_item, mark_dirty, record_event
from bot.ordering import STALE, Order, take_turn
from bot.refs import Click, ItemRef
from bot.resolution import resolve_item
from storage.db import changed
from storage.models import (
    Escalation,
    EscalationStatus,
    Item,
    ItemEvent,
    ItemStatus,
    Label,
    Resolution,
    utcnow,
)

__all__ = [
    "DecisionOutcome",
    "DecisionResult",
    "DecisionTarget",
    "EscalateResult",
    "ReminderClaim",
    "ThreadToPost",
    "UnpostedItem",
    "claim_reminder",
    "decide",
    "decision_target",
    "due_reminders",
    "escalate",
    "open_escalation",
    "pending_threads",
    "route_experts",
    "send_back",
    "thread_posted",
    "why_not_escalable",
]

Reason = Literal["disagreement", "annotator"]
ReminderKind = Literal["remind", "fallback"]


def route_experts(project: ProjectConfig, labels_involved: list[str], meta: dict[str, Any]) -> list[str]:
    """Default experts, plus those for any label in the disagreement, plus those for the item's fields.

    Order is kept (default first) and duplicates dropped; admins are mentioned only on fallback.
    """
    experts = project.experts
    routed: list[str] = list(experts.default)
    for label in labels_involved:
        routed += experts.by_label.get(label, [])
    for field, by_value in experts.by_field.items():
        value = meta.get(field)
        if value is not None:
            routed += by_value.get(str(value), [])
    return list(dict.fromkeys(routed))


def open_escalation(
    session: Session,
    item: Item,
    project: ProjectConfig,
    *,
    reason: Reason,
    counts: dict[str, int] | None = None,
    raised_by: str | None = None,
    note: str | None = None,
    suggested_label: str | None = None,
    now: datetime | None = None,
) -> Escalation:
    """Escalate ``item``: route it to its experts; the thread is posted by the escalation poster."""
    now = now or utcnow()
    involved = list(counts or {})
    if suggested_label:
        involved.append(suggested_label)
    experts = route_experts(project, involved, dict(item.meta or {}))
    item.status = ItemStatus.ESCALATED
    item.escalated_at = now
    row = Escalation(
        item_id=item.id,
        round=item.round,
        reason=reason,
        note=note,
        raised_by=raised_by,
        suggested_label=suggested_label,
        experts=experts,
        status=EscalationStatus.OPEN,
        created_at=now,
    )
    session.add(row)
    record_event(
        session,
        item,
        raised_by or BOT_ACTOR,
        "escalated",
        label=suggested_label,
        detail={"reason": reason, "note": note, "counts": counts or {}, "experts": experts},
        at=now,
    )
    mark_dirty(item)
    session.flush()
    return row


# -- an annotator escalates -------------------------------------------------------------------------
def why_not_escalable(
    session: Session, item: Item, ref: ItemRef, click: Click | None = None, user: str = ""
) -> str | None:
    """Why ``item`` (as the message ``ref`` shows it, clicked as ``click`` says) cannot be escalated
    now, or None if it can. Only from the item's current message in its channel, or from
    ``user``'s direct-message session showing it (``bot.personal``; the item may be queued there)."""
    if item.status == ItemStatus.ESCALATED or _open_escalation_id(session, item.id) is not None:
        return "This item is already escalated."
    channel, ts = (click.channel, click.message_ts) if click is not None else (None, None)
    # From a session message (DM ids start with D), or from a modal opened there (no message).
    from_session = bool(channel and channel.startswith("D")) or (
        channel is None and item.status == ItemStatus.QUEUED
    )
    in_session = (
        bool(user) and from_session and leases.session_shows(session, user, item.id, item.round, channel, ts)
    )
    open_here = item.status == ItemStatus.OPEN or (in_session and item.status == ItemStatus.QUEUED)
    if not open_here or item.round != ref.round:
        return f"This item is {item.status}; it cannot be escalated now."
    if click is not None and not in_session and click.elsewhere(item.channel, item.message_ts):
        return "That button is not on this item's message."
    return None


@dataclass(frozen=True)
class EscalateResult:
    escalation: Escalation | None = None
    refused: str | None = None  # why not, said to the user as is
    field: Literal["reason", "suggested"] = "reason"  # the form field the refusal is about


def escalate(
    session: Session,
    permit: Permit,
    ref: ItemRef,
    note: str,
    suggested_label: str | None = None,
    *,
    click: Click | None = None,
    now: datetime | None = None,
) -> EscalateResult:
    """An annotator sends an open item to the experts at once, with a reason and maybe a label.
    ``click``: the Escalate click the modal was opened from (its time orders the escalation)."""
    permit.require(Action.ESCALATE)
    project = permit.project
    if suggested_label is not None and project.label(suggested_label) is None:
        return EscalateResult(refused="Choose one of the project's labels.", field="suggested")
    item = get_item(session, ref.item_id, lock=True)
    why = why_not_escalable(session, item, ref, click, permit.user)
    if why is None and take_turn(session, item.id, permit.user, click.at if click else None) != Order.NEWEST:
        why = STALE
    if why is not None:
        return EscalateResult(refused=why)
    votes = session.scalars(select(Label.value).where(Label.item_id == item.id)).all()
    row = open_escalation(
        session,
        item,
        project,
        reason="annotator",
        counts=tally(votes),
        raised_by=permit.user,
        note=note,
        suggested_label=suggested_label,
        now=now,
    )
    return EscalateResult(escalation=row)


def _open_escalation_id(session: Session, item_id: int) -> int | None:
    return session.scalar(
        select(Escalation.id).where(Escalation.item_id == item_id, Escalation.status == EscalationStatus.OPEN)
    )


# -- experts decide -------------------------------------------------------------------------------
@dataclass(frozen=True)
class DecisionTarget:
    """What deciding who may decide an escalation needs."""

    escalation_id: int
    item_id: int
    experts: list[str]


def decision_target(session: Session, escalation_id: int) -> DecisionTarget | None:
    esc = session.get(Escalation, escalation_id)
    return DecisionTarget(esc.id, esc.item_id, list(esc.experts or [])) if esc else None


class DecisionOutcome(StrEnum):
    WON = "won"  # this decision (or send back) was recorded
    LOST = "lost"  # someone decided first: ``escalation`` says who and what


@dataclass(frozen=True)
class DecisionResult:
    outcome: DecisionOutcome
    escalation: Escalation
    item: Item
    old_message_ts: str | None = None  # send back: the previous round's message, to mark as sent back
    old_card: ItemCard | None = None  # send back: what that message shows now

    @property
    def won(self) -> bool:
        return self.outcome == DecisionOutcome.WON


def _close(session: Session, escalation_id: int, **values: Any) -> tuple[bool, Escalation, Item]:
    """Close an open escalation with ``values``; whether this call won, and the current rows.

    A conditional UPDATE: of concurrent closers (threads or processes), exactly one changes the row.
    """
    won = (
        changed(
            session.execute(
                update(Escalation)
                .where(Escalation.id == escalation_id, Escalation.status == EscalationStatus.OPEN)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
        )
        == 1
    )
    escalation = session.get(Escalation, escalation_id, populate_existing=True)
    if escalation is None:
        raise LookupError(f"escalation {escalation_id} does not exist")
    return won, escalation, get_item(session, escalation.item_id, lock=True)


def decide(
    session: Session,
    permit: Permit,
    escalation_id: int,
    label: str,
    *,
    note: str | None = None,
    edge_case: bool = False,
    now: datetime | None = None,
) -> DecisionResult:
    """Record the expert's label as final, unless another decision got there first."""
    permit.require(Action.DECIDE, escalation_id)
    now = now or utcnow()
    if permit.project.label(label) is None:
        raise ValueError(f"{label!r} is not one of the project's labels")
    won, escalation, item = _close(
        session,
        escalation_id,
        status=EscalationStatus.DECIDED,
        decided_by=permit.user,
        decided_label=label,
        decision_note=note,
        edge_case=edge_case,
        decided_at=now,
    )
    if not won:
        return DecisionResult(DecisionOutcome.LOST, escalation, item)
    hours = (now - escalation.created_at).total_seconds() / 3600
    resolve_item(
        session,
        item,
        permit.project,
        label=label,
        resolution=Resolution.EXPERT,
        actor=permit.user,
        action="decided",
        detail={
            "note": note,
            "edge_case": edge_case,
            "reason": escalation.reason,
            "hours_to_decision": round(hours, 4),
        },
        now=now,
    )
    return DecisionResult(DecisionOutcome.WON, escalation, item)


def send_back(
    session: Session, permit: Permit, escalation_id: int, note: str | None, *, now: datetime | None = None
) -> DecisionResult:
    """Close the escalation and queue the item for a new round; old votes stay in the history."""
    permit.require(Action.DECIDE, escalation_id)
    now = now or utcnow()
    won, escalation, item = _close(
        session,
        escalation_id,
        status=EscalationStatus.SENT_BACK,
        decided_by=permit.user,
        decision_note=note,
        decided_at=now,
    )
    if not won:
        return DecisionResult(DecisionOutcome.LOST, escalation, item)
    votes = dict(session.execute(select(Label.user_id, Label.value).where(Label.item_id == item.id)).all())
    old_ts = item.message_ts
    old_card = card_for(session, item, permit.project, sent_back=True)
    record_event(
        session,
        item,
        permit.user,
        "sent_back",
        detail={"note": note, "votes": votes, "message_ts": old_ts},
        at=now,
    )
    session.execute(delete(Label).where(Label.item_id == item.id))
    item.round += 1
    item.status = ItemStatus.QUEUED
    item.agreement = None
    item.escalated_at = None
    # The new round gets a new message from the dispatcher; the caller marks the old one.
    item.message_ts = None
    item.message_dirty = False
    item.post_attempted_at = None
    record_event(session, item, BOT_ACTOR, "queued", detail={"round": item.round}, at=now)
    return DecisionResult(DecisionOutcome.WON, escalation, item, old_message_ts=old_ts, old_card=old_card)


# -- threads to post ------------------------------------------------------------------------------
@dataclass(frozen=True)
class ThreadToPost:
    """An open escalation whose thread reply is not posted yet, with what the reply shows."""

    escalation_id: int
    channel: str
    parent_ts: str
    reason: str
    counts: dict[str, int]
    experts: list[str]
    raised_by: str | None
    note: str | None
    suggested: str | None
    model: tuple[str, float] | None


@dataclass(frozen=True)
class UnpostedItem:
    """An item escalated without ever being posted (labels imported from a file): it gets its
    message first, so that experts have a thread to decide in."""

    item_id: int
    round: int
    card: ItemCard


def pending_threads(
    session: Session, project: ProjectConfig, project_id: int, limit: int = 20
) -> tuple[list[ThreadToPost], list[UnpostedItem]]:
    rows = session.execute(
        select(Escalation, Item)
        .join(Item, Item.id == Escalation.item_id)
        .where(
            Item.project_id == project_id,
            Escalation.status == EscalationStatus.OPEN,
            Escalation.thread_ts.is_(None),
        )
        .order_by(Escalation.id)
        .limit(limit)
    ).all()
    threads: list[ThreadToPost] = []
    unposted: list[UnpostedItem] = []
    for esc, item in rows:
        if item.message_ts is None:
            unposted.append(UnpostedItem(item.id, item.round, card_for(session, item, project)))
            continue
        model = (
            (item.model_label, item.model_confidence)
            if item.model_label and item.model_confidence is not None
            else None
        )
        threads.append(
            ThreadToPost(
                escalation_id=esc.id,
                channel=item.channel or project.channel,
                parent_ts=item.message_ts,
                reason=esc.reason,
                counts=_escalation_counts(session, esc),
                experts=list(esc.experts or []),
                raised_by=esc.raised_by,
                note=esc.note,
                suggested=esc.suggested_label,
                model=model,
            )
        )
    return threads, unposted


def _escalation_counts(session: Session, esc: Escalation) -> dict[str, int]:
    """The votes when the item was escalated (its labels may have been cleared since)."""
    event = session.scalar(
        select(ItemEvent)
        .where(ItemEvent.item_id == esc.item_id, ItemEvent.action == "escalated")
        .order_by(ItemEvent.id.desc())
        .limit(1)
    )
    return dict((event.detail or {}).get("counts", {})) if event else {}


def thread_posted(session: Session, escalation_id: int, ts: str) -> None:
    session.execute(update(Escalation).where(Escalation.id == escalation_id).values(thread_ts=ts))


# -- reminders ------------------------------------------------------------------------------------
def due_reminders(
    session: Session, project: ProjectConfig, project_id: int, now: datetime
) -> list[tuple[Escalation, ReminderKind]]:
    """Open escalations whose reminder or admin fallback is due and not yet sent."""
    rows = session.scalars(
        select(Escalation)
        .join(Item, Item.id == Escalation.item_id)
        .where(
            Item.project_id == project_id,
            Escalation.status == EscalationStatus.OPEN,
            Escalation.thread_ts.is_not(None),
        )
    ).all()
    due: list[tuple[Escalation, ReminderKind]] = []
    for row in rows:
        age = now - row.created_at
        if row.fallback_at is None and age >= project.escalation.fallback_after:
            due.append((row, "fallback"))
        elif row.reminded_at is None and row.fallback_at is None and age >= project.escalation.remind_after:
            due.append((row, "remind"))
    return due


@dataclass(frozen=True)
class ReminderClaim:
    """A reminder this process claimed: it posts it in the same transaction, so a failed post
    gives the claim back."""

    kind: ReminderKind
    experts: list[str]
    channel: str
    parent_ts: str | None


def claim_reminder(
    session: Session, project: ProjectConfig, escalation_id: int, kind: ReminderKind, now: datetime
) -> ReminderClaim | None:
    """Claim a due reminder (or fallback) and record it in the history; None if it was sent already
    (by this process or another) or the escalation is closed."""
    column = Escalation.fallback_at if kind == "fallback" else Escalation.reminded_at
    values: dict[str, Any] = {column.key: now}
    if kind == "fallback":
        values["reminded_at"] = func.coalesce(Escalation.reminded_at, now)
    claimed = changed(
        session.execute(
            update(Escalation)
            .where(
                Escalation.id == escalation_id, Escalation.status == EscalationStatus.OPEN, column.is_(None)
            )
            .values(values)
            .execution_options(synchronize_session=False)
        )
    )
    if not claimed:
        return None
    esc = session.get(Escalation, escalation_id)
    item = session.get(Item, esc.item_id) if esc else None
    if esc is None or item is None:
        return None
    record_event(session, item, BOT_ACTOR, "reminded", detail={"kind": kind}, at=now)
    return ReminderClaim(kind, list(esc.experts or []), item.channel or project.channel, item.message_ts)
