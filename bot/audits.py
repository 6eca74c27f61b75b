"""Accuracy audits: a share of resolved items goes to an expert for a blind relabel.

The expert does not see the consensus. Agreement is recorded; a disagreement
corrects the final label (the expert wins; the history keeps both labels). The
error rate of resolved labels is estimated from audits with a Wilson interval.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.authorization import Action, Permit, is_group
from bot.config import ProjectConfig
from bot.items import BOT_ACTOR, get_item, mark_dirty, record_event
from storage.db import changed
from storage.models import Audit, AuditStatus, Item, Label, Resolution, utcnow

__all__ = [
    "AuditAnswer",
    "AuditOutcome",
    "AuditTarget",
    "AuditToPost",
    "answer_audit",
    "audit_posted",
    "audit_target",
    "auditors",
    "maybe_sample",
    "pending_audits",
]


def auditors(project: ProjectConfig) -> list[str]:
    """Users who can be asked: default experts and admins that are users (groups cannot be DMed)."""
    people = [*project.experts.default, *project.experts.admins]
    return [p for p in dict.fromkeys(people) if not is_group(p)]


def maybe_sample(
    session: Session,
    item: Item,
    project: ProjectConfig,
    *,
    rng: random.Random | None = None,
    now: datetime | None = None,
) -> Audit | None:
    """With probability ``quality.audit_rate``, queue a blind audit of the item's final label."""
    rate = project.quality.audit_rate
    if rate <= 0 or item.final_label is None:
        return None
    if (rng or random).random() >= rate:
        return None
    people = auditors(project)
    if not people:
        return None
    # Spread audits over the experts; never the annotators of the item if avoidable.
    labelers = set(session.scalars(select(Label.user_id).where(Label.item_id == item.id)))
    candidates = [p for p in people if p not in labelers] or people
    expert = candidates[item.id % len(candidates)]
    audit = Audit(
        item_id=item.id,
        resolution=item.resolution or Resolution.CONSENSUS,
        audited_label=item.final_label,
        expert=expert,
        status=AuditStatus.PENDING,
        created_at=now or utcnow(),
    )
    session.add(audit)
    session.flush()
    return audit


@dataclass(frozen=True)
class AuditTarget:
    """What deciding who may answer an audit needs."""

    audit_id: int
    item_id: int
    expert: str


def audit_target(session: Session, audit_id: int) -> AuditTarget | None:
    audit = session.get(Audit, audit_id)
    return AuditTarget(audit.id, audit.item_id, audit.expert) if audit else None


class AuditOutcome(StrEnum):
    RECORDED = "recorded"
    ALREADY = "already"  # answered before (by this expert or an admin)
    REFUSED = "refused"


@dataclass(frozen=True)
class AuditAnswer:
    outcome: AuditOutcome
    audit: Audit | None = None
    reason: str | None = None


def answer_audit(
    session: Session, permit: Permit, audit_id: int, label: str, *, now: datetime | None = None
) -> AuditAnswer:
    """Record the expert's blind label; a disagreement corrects the item's final label."""
    permit.require(Action.AUDIT, audit_id)
    now = now or utcnow()
    user = permit.user
    audit = session.get(Audit, audit_id)
    if audit is None:
        return AuditAnswer(AuditOutcome.REFUSED, reason="This audit no longer exists.")
    if permit.project.label(label) is None:
        return AuditAnswer(AuditOutcome.REFUSED, reason="That label is not one of this project's labels.")
    agrees = label == audit.audited_label
    done = changed(
        session.execute(
            update(Audit)
            .where(Audit.id == audit_id, Audit.status != AuditStatus.DONE)
            .values(status=AuditStatus.DONE, label=label, agrees=agrees, done_at=now)
            .execution_options(synchronize_session=False)
        )
    )
    session.refresh(audit)
    if not done:
        return AuditAnswer(AuditOutcome.ALREADY, audit)
    item = get_item(session, audit.item_id, lock=True)
    record_event(
        session,
        item,
        user,
        "audited",
        label=label,
        previous_label=audit.audited_label,
        detail={"agrees": agrees, "audited_resolution": audit.resolution},
        at=now,
    )
    if not agrees and item.final_label == audit.audited_label:
        item.final_label = label
        item.resolution = Resolution.AUDIT
        record_event(
            session,
            item,
            BOT_ACTOR,
            "corrected",
            label=label,
            previous_label=audit.audited_label,
            detail={"by": user},
            at=now,
        )
        mark_dirty(item)
    return AuditAnswer(AuditOutcome.RECORDED, audit)


# -- sending audits to the experts -----------------------------------------------------------------
@dataclass(frozen=True)
class AuditToPost:
    audit_id: int
    expert: str
    created_at: datetime
    external_id: str
    text: str


def pending_audits(session: Session, project_id: int, limit: int = 10) -> list[AuditToPost]:
    """Sampled audits not yet sent to their expert, oldest first."""
    rows = session.execute(
        select(Audit, Item.external_id, Item.text)
        .join(Item, Item.id == Audit.item_id)
        .where(Item.project_id == project_id, Audit.status == AuditStatus.PENDING)
        .order_by(Audit.id)
        .limit(limit)
    ).all()
    return [AuditToPost(a.id, a.expert, a.created_at, ext, text) for a, ext, text in rows]


def audit_posted(session: Session, audit_id: int, channel: str, ts: str) -> None:
    session.execute(
        update(Audit)
        .where(Audit.id == audit_id, Audit.status == AuditStatus.PENDING)
        .values(status=AuditStatus.POSTED, channel=channel, message_ts=ts)
    )
