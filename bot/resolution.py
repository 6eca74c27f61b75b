"""Resolving an item: the one place where an item gets its final label.

By consensus (``bot.labeling``), by an expert's decision (``bot.escalation``) or by a confident
model (``bot.model.scoring``); an audit later corrects a final label without resolving again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from bot import audits
from bot.config import ProjectConfig
from bot.items import mark_dirty, record_event
from storage.models import Item, ItemStatus, Resolution

__all__ = ["AUDITED", "HUMAN", "resolve_item", "trainable"]

#: Resolutions a person decided: the model trains on these.
HUMAN = (Resolution.CONSENSUS, Resolution.EXPERT, Resolution.AUDIT)
#: Resolutions that blind audits check (an expert's decision is not audited).
AUDITED = (Resolution.CONSENSUS, Resolution.MODEL)


def trainable() -> ColumnElement[bool]:
    """Items the model learns from: a final label people decided, or a gold label."""
    return (Item.resolution.in_(HUMAN) & Item.final_label.is_not(None)) | Item.gold_label.is_not(None)


def resolve_item(
    session: Session,
    item: Item,
    project: ProjectConfig,
    *,
    label: str,
    resolution: Resolution,
    actor: str,
    now: datetime,
    action: str = "resolved",
    detail: dict[str, Any] | None = None,
) -> None:
    """Give ``item`` its final ``label``: status, resolution and time, one history event (``action``
    by ``actor``), an audit drawn at ``quality.audit_rate`` for :data:`AUDITED` resolutions, and its
    message marked for a refresh."""
    item.status = ItemStatus.RESOLVED
    item.resolution = resolution
    item.final_label = label
    item.resolved_at = now
    record_event(session, item, actor, action, label=label, detail=detail, at=now)
    if resolution in AUDITED:
        audits.maybe_sample(session, item, project, now=now)
    mark_dirty(item)
