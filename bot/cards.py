"""What an item's message shows: the card, built from the database for any delivery channel."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session

from bot.config import ProjectConfig
from bot.refs import ItemRef
from storage.models import Item, ItemStatus, Label

__all__ = ["ItemCard", "ItemLike", "card_for"]

# A locked item read as a plain row (no ORM object): what the click path needs, at a third of the cost.
ItemLike = Item | Row[Any]


@dataclass(frozen=True)
class ItemCard:
    """An item as its message shows it: text, metadata, progress (counts, never others' votes)."""

    item_id: int
    external_id: str
    round: int
    text: str
    status: str
    n_labels: int
    needed: int
    meta: dict[str, Any] = field(default_factory=dict)
    final_label: str | None = None
    resolution: str | None = None
    agreement: float | None = None
    suggestion: tuple[str, float] | None = None
    sent_back: bool = False

    @property
    def ref(self) -> ItemRef:
        return ItemRef(self.item_id, self.round)

    @property
    def status_open(self) -> bool:
        return self.status == ItemStatus.OPEN

    @property
    def is_open(self) -> bool:
        """Open for labels: posted, not closed, not replaced by a new round."""
        return self.status_open and not self.sent_back

    @property
    def resolved(self) -> bool:
        return self.status == ItemStatus.RESOLVED

    @property
    def escalated(self) -> bool:
        return self.status == ItemStatus.ESCALATED


def card_for(
    session: Session,
    item: ItemLike,
    project: ProjectConfig,
    *,
    sent_back: bool = False,
    n_labels: int | None = None,
) -> ItemCard:
    """The item's card; ``n_labels`` when the caller already counted the labels.

    Text, metadata and the item's ID are redacted here (``project.privacy``), once for every
    delivery channel and before any builder cuts them to Slack's limits, so a cut never leaves half
    a card number.
    """
    if n_labels is None:
        n_labels = (
            session.scalar(select(func.count()).select_from(Label).where(Label.item_id == item.id)) or 0
        )
    privacy = project.privacy
    suggestion = (
        (item.model_label, item.model_confidence)
        if item.model_label is not None and item.model_confidence is not None
        else None
    )
    return ItemCard(
        item_id=item.id,
        external_id=privacy.apply(item.external_id),  # an ID can be an address too
        round=item.round,
        text=privacy.apply(item.text),
        status=item.status,
        n_labels=n_labels,
        needed=labels_needed(project, n_labels),
        meta=_shown_meta(item.meta or {}, project),
        final_label=item.final_label,
        resolution=item.resolution,
        agreement=item.agreement,
        suggestion=suggestion,
        sent_back=sent_back,
    )


def _shown_meta(meta: dict[str, Any], project: ProjectConfig) -> dict[str, Any]:
    """Metadata as shown: with redaction on, every value as redacted text (a number can be a card)."""
    privacy = project.privacy
    if not privacy.active:
        return dict(meta)
    return {
        k: v if v is None else privacy.apply(v if isinstance(v, str) else str(v)) for k, v in meta.items()
    }


def labels_needed(project: ProjectConfig, n_labels: int) -> int:
    """Labels to show as needed: fixed overlap, or (dynamic) the next one up to ``max``."""
    overlap = project.annotators_per_item
    return overlap.min if overlap.fixed else min(overlap.max, max(overlap.min, n_labels + 1))
