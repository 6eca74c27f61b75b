"""Which item is delivered next, and the item's delivery lifecycle: claimed, posted (open).

Any delivery channel uses this: the channel poster today, a personal queue tomorrow.

Order: the model's ranking (``dispatch_ranks``, highest priority first), then items the
ranking does not hold yet in import order; gold items mixed in at ``quality.gold_rate``
(served unmarked); a share ``model.explore`` drawn at random instead, which keeps the
training data from following the model alone. At most ``max_open`` items are open at once.

An item is *claimed* (``post_attempted_at``) in one transaction, posted, and marked open with
its message in the next; a claim left behind by a crash is retaken, and the deliverer first
looks for the message the interrupted post may have left (so nothing is posted twice).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot import leases
from bot.cards import ItemCard, card_for
from bot.config import ProjectConfig
from bot.items import BOT_ACTOR, record_event
from bot.refs import Click
from storage.db import changed
from storage.models import DispatchRank, Item, ItemStatus, Project, utcnow

__all__ = [
    "Claim",
    "ClaimOutcome",
    "claim_next",
    "mark_posted",
    "message_posted",
    "next_queued",
    "open_count",
]


def open_count(session: Session, project_id: int) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Item)
            .where(Item.project_id == project_id, Item.status == ItemStatus.OPEN)
        )
        or 0
    )


def next_queued(
    session: Session,
    project: ProjectConfig,
    project_id: int,
    rng: random.Random,
    now: datetime | None = None,
    *,
    where: Sequence[Any] = (),
    leased: bool = False,
) -> Item | None:
    """The next queued item to offer, in the order the module docstring gives, among those
    ``where`` also holds for. An item leased to someone's direct-message session (``bot.leases``)
    is offered only with ``leased`` (to other sessions; never to the channel while it lives)."""
    run = session.scalar(select(Project.dispatch_run).where(Project.id == project_id))
    # Without a ranking there is nothing for exploration to ignore: import order stands.
    explore = run is not None and project.model.explore > 0 and rng.random() < project.model.explore
    queued = [Item.project_id == project_id, Item.status == ItemStatus.QUEUED, *where]
    if not leased:
        queued.append(~leases.live_lease(Item.id, now or utcnow()))
    rate = project.quality.gold_rate
    if rate > 0:
        want_gold = rng.random() < rate
        gold = Item.gold_label.is_not(None) if want_gold else Item.gold_label.is_(None)
        picked = _pick(session, project_id, run, explore, [*queued, gold])
        if picked is not None:
            return picked
    return _pick(session, project_id, run, explore, queued)


def _pick(session: Session, project_id: int, run: int | None, explore: bool, where: list[Any]) -> Item | None:
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


class ClaimOutcome(StrEnum):
    CLAIMED = "claimed"
    FULL = "full"  # ``max_open`` items are open
    EMPTY = "empty"  # nothing queued
    TAKEN = "taken"  # another deliverer claimed the candidate first: look again


@dataclass(frozen=True)
class Claim:
    outcome: ClaimOutcome
    item_id: int = 0
    round: int = 0
    previous_attempt: datetime | None = None  # a claim retaken after an interrupted post
    card: ItemCard | None = None  # as the message will show it, open for labels


def claim_next(
    session: Session, project: ProjectConfig, project_id: int, rng: random.Random, now: datetime
) -> Claim:
    """Claim the next queued item for posting, unless ``max_open`` items are open already."""
    if project.delivery == "dm":
        return Claim(ClaimOutcome.EMPTY)  # items reach people in their direct messages only
    if open_count(session, project_id) >= project.max_open:
        return Claim(ClaimOutcome.FULL)
    item = next_queued(session, project, project_id, rng, now)
    if item is None:
        return Claim(ClaimOutcome.EMPTY)
    previous = item.post_attempted_at
    claimed = changed(
        session.execute(
            update(Item)
            .where(
                Item.id == item.id,
                Item.status == ItemStatus.QUEUED,
                Item.post_attempted_at.is_(None) if previous is None else Item.post_attempted_at == previous,
            )
            .values(post_attempted_at=now)
            .execution_options(synchronize_session=False)
        )
    )
    if not claimed:
        return Claim(ClaimOutcome.TAKEN)
    card = replace(card_for(session, item, project), status=ItemStatus.OPEN)
    return Claim(ClaimOutcome.CLAIMED, item.id, item.round, previous, card)


def mark_posted(
    session: Session,
    channel: str,
    item_id: int,
    round_: int,
    ts: str,
    now: datetime,
    *,
    adopted: bool = False,
) -> bool:
    """The claimed item's message is ``ts``: the item is open. False when another deliverer's post
    won (its copy must then be deleted). An adopted message (found after an interrupted post) is
    re-rendered: labels may have changed since it was posted. True, changing nothing, when a click
    on this very message recorded it first (:func:`open_from_click`)."""
    opened = changed(
        session.execute(
            update(Item)
            .where(Item.id == item_id, Item.round == round_, Item.status == ItemStatus.QUEUED)
            .values(
                status=ItemStatus.OPEN, channel=channel, message_ts=ts, posted_at=now, message_dirty=adopted
            )
            .execution_options(synchronize_session=False)
        )
    )
    if opened:
        item = session.get(Item, item_id)
        if item is not None:
            record_event(
                session,
                item,
                BOT_ACTOR,
                "posted",
                detail={"channel": channel, "ts": ts, "adopted": adopted},
                at=now,
            )
        return True
    recorded = session.execute(
        select(Item.id).where(
            Item.id == item_id, Item.round == round_, Item.channel == channel, Item.message_ts == ts
        )
    ).first()
    return recorded is not None


def open_from_click(
    session: Session, item_id: int, round_: int, click: Click, channel: str, now: datetime | None = None
) -> bool:
    """A click on a claimed item's message arrived before its poster recorded the post: Slack
    shows the message before the poster reads the answer, and the poster's commit may wait on a
    lock. The signed click names the message (in the project's ``channel``, carrying this item and
    round), so it is recorded here and the click counts; the poster then finds it recorded.
    False when the click proves nothing (another channel, an ephemeral, no message)."""
    if click.channel != channel or not click.message_ts or click.ephemeral:
        return False
    claimed = session.execute(
        select(Item.id).where(
            Item.id == item_id,
            Item.round == round_,
            Item.status == ItemStatus.QUEUED,
            Item.post_attempted_at.is_not(None),
        )
    ).first()
    return claimed is not None and mark_posted(
        session, channel, item_id, round_, click.message_ts, now or utcnow()
    )


def message_posted(session: Session, channel: str, item_id: int, ts: str, now: datetime) -> None:
    """An item that closed without a message got one; recorded only if it still has none."""
    session.execute(
        update(Item)
        .where(Item.id == item_id, Item.message_ts.is_(None))
        .values(channel=channel, message_ts=ts, posted_at=now)
        .execution_options(synchronize_session=False)
    )
