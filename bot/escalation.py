"""Escalation to experts: routing, deciding, sending back, reminders. No Slack here.

The first decision wins: ``decide`` flips the escalation from ``open`` with a
conditional UPDATE, so of two experts deciding at once (two threads or two bot
processes on one database) exactly one changes a row; the other learns who won.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from bot.config import ProjectConfig
from bot.items import BOT_ACTOR, get_item, mark_dirty, record_event
from storage.models import Escalation, Item, ItemStatus, Label, Resolution, utcnow

__all__ = [
    "DecisionResult",
    "can_decide",
    "decide",
    "due_reminders",
    "mention",
    "open_escalation",
    "route_experts",
    "send_back",
]


def mention(slack_id: str) -> str:
    """``<@U…>`` for a user, ``<!subteam^S…>`` for a user group."""
    return f"<!subteam^{slack_id}>" if slack_id.startswith("S") else f"<@{slack_id}>"


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
    reason: Literal["disagreement", "annotator"],
    counts: dict[str, int] | None = None,
    raised_by: str | None = None,
    note: str | None = None,
    suggested_label: str | None = None,
    now: datetime | None = None,
) -> Escalation:
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
        status="open",
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


def can_decide(project: ProjectConfig, escalation: Escalation, user: str, groups_of_user: set[str]) -> bool:
    """Routed experts and admins may decide; group IDs count for their members."""
    allowed = set(escalation.experts or []) | set(project.experts.admins)
    return user in allowed or bool(allowed & groups_of_user)


@dataclass(frozen=True)
class DecisionResult:
    won: bool
    escalation: Escalation
    item: Item
    old_message_ts: str | None = None  # send back: the previous round's message, to mark as sent back


def _close(session: Session, escalation_id: int, **values: Any) -> tuple[bool, Escalation, Item]:
    """Close an open escalation with ``values``; whether this call won, and the current rows.

    A conditional UPDATE: of concurrent closers (threads or processes), exactly one changes the row.
    """
    won = (
        session.execute(
            update(Escalation)
            .where(Escalation.id == escalation_id, Escalation.status == "open")
            .values(**values)
            .execution_options(synchronize_session=False)
        ).rowcount
        == 1
    )
    escalation = session.get(Escalation, escalation_id, populate_existing=True)
    if escalation is None:
        raise LookupError(f"escalation {escalation_id} does not exist")
    return won, escalation, get_item(session, escalation.item_id, lock=True)


def decide(
    session: Session,
    project: ProjectConfig,
    escalation_id: int,
    user: str,
    label: str,
    *,
    note: str | None = None,
    edge_case: bool = False,
    now: datetime | None = None,
) -> DecisionResult:
    """Record the expert's label as final, unless another decision got there first."""
    now = now or utcnow()
    if project.label(label) is None:
        raise ValueError(f"{label!r} is not one of the project's labels")
    won, escalation, item = _close(
        session,
        escalation_id,
        status="decided",
        decided_by=user,
        decided_label=label,
        decision_note=note,
        edge_case=edge_case,
        decided_at=now,
    )
    if won:
        item.status = ItemStatus.RESOLVED
        item.resolution = Resolution.EXPERT
        item.final_label = label
        item.resolved_at = now
        hours = (now - escalation.created_at).total_seconds() / 3600
        record_event(
            session,
            item,
            user,
            "decided",
            label=label,
            detail={
                "note": note,
                "edge_case": edge_case,
                "reason": escalation.reason,
                "hours_to_decision": round(hours, 4),
            },
            at=now,
        )
        mark_dirty(item)
    return DecisionResult(won, escalation, item)


def send_back(
    session: Session,
    project: ProjectConfig,
    escalation_id: int,
    user: str,
    note: str | None,
    *,
    now: datetime | None = None,
) -> DecisionResult:
    """Close the escalation and queue the item for a new round; old votes stay in the history."""
    now = now or utcnow()
    won, escalation, item = _close(
        session, escalation_id, status="sent_back", decided_by=user, decision_note=note, decided_at=now
    )
    if won:
        votes = dict(
            session.execute(select(Label.user_id, Label.value).where(Label.item_id == item.id)).all()
        )
        old_ts = item.message_ts
        record_event(
            session,
            item,
            user,
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
        return DecisionResult(won, escalation, item, old_message_ts=old_ts)
    return DecisionResult(won, escalation, item)


def due_reminders(
    session: Session, project: ProjectConfig, project_id: int, now: datetime
) -> list[tuple[Escalation, Literal["remind", "fallback"]]]:
    """Open escalations whose reminder or admin fallback is due and not yet sent."""
    rows = session.scalars(
        select(Escalation)
        .join(Item, Item.id == Escalation.item_id)
        .where(Item.project_id == project_id, Escalation.status == "open", Escalation.thread_ts.is_not(None))
    ).all()
    due: list[tuple[Escalation, Literal["remind", "fallback"]]] = []
    for row in rows:
        age = now - row.created_at
        if row.fallback_at is None and age >= project.escalation.fallback_after:
            due.append((row, "fallback"))
        elif row.reminded_at is None and row.fallback_at is None and age >= project.escalation.remind_after:
            due.append((row, "remind"))
    return due
