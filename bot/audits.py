"""Accuracy audits: a share of resolved items goes to an expert for a blind relabel.

The expert does not see the consensus. Agreement is recorded; a disagreement
corrects the final label (the expert wins; the history keeps both labels). The
error rate of resolved labels is estimated from audits with a Wilson interval.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.config import ProjectConfig
from bot.items import BOT_ACTOR, get_item, mark_dirty, record_event
from storage.models import Audit, Item, Label, Resolution, utcnow

__all__ = ["AuditAnswer", "answer_audit", "auditors", "maybe_sample"]


def auditors(project: ProjectConfig) -> list[str]:
    """Users who can be asked: default experts and admins that are users (groups cannot be DMed)."""
    people = [*project.experts.default, *project.experts.admins]
    return [p for p in dict.fromkeys(people) if not p.startswith("S")]


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
        status="pending",
        created_at=now or utcnow(),
    )
    session.add(audit)
    session.flush()
    return audit


@dataclass(frozen=True)
class AuditAnswer:
    status: str  # recorded | already | refused
    audit: Audit | None = None
    reason: str | None = None


def answer_audit(
    session: Session,
    project: ProjectConfig,
    audit_id: int,
    user: str,
    label: str,
    *,
    now: datetime | None = None,
) -> AuditAnswer:
    now = now or utcnow()
    audit = session.get(Audit, audit_id)
    if audit is None:
        return AuditAnswer("refused", reason="This audit no longer exists.")
    if user != audit.expert and user not in project.experts.admins:
        return AuditAnswer("refused", reason="This audit was assigned to someone else.")
    if project.label(label) is None:
        return AuditAnswer("refused", reason="That label is not one of this project's labels.")
    agrees = label == audit.audited_label
    done = session.execute(
        update(Audit)
        .where(Audit.id == audit_id, Audit.status != "done")
        .values(status="done", label=label, agrees=agrees, done_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(audit)
    if not done:
        return AuditAnswer("already", audit)
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
    return AuditAnswer("recorded", audit)
