"""Resolving an item: one function for consensus, experts and the model."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from sqlalchemy import select

from bot.resolution import resolve_item
from storage.db import session_scope
from storage.models import Audit, Item, ItemEvent, Resolution
from tests.bot.conftest import add_items, make_config

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def test_resolving_sets_the_final_label_records_it_and_marks_the_message(factory, project):
    (item_id,) = add_items(factory, 1)
    with session_scope(factory) as session:
        item = session.get(Item, item_id)
        resolve_item(
            session,
            item,
            project,
            label="bug",
            resolution=Resolution.EXPERT,
            actor="U0EXPERT",
            action="decided",
            now=NOW,
        )
        assert (item.status, item.resolution, item.final_label, item.resolved_at) == (
            "resolved",
            "expert",
            "bug",
            NOW,
        )
        assert item.message_dirty
        event = session.scalars(select(ItemEvent).where(ItemEvent.item_id == item_id)).all()[-1]
        assert (event.actor, event.action, event.label) == ("U0EXPERT", "decided", "bug")


def test_consensus_and_model_resolutions_are_audited_expert_ones_are_not(factory, monkeypatch):
    project = make_config(quality={"audit_rate": 1.0}).projects[0]
    monkeypatch.setattr(random, "random", lambda: 0.0)
    ids = add_items(factory, 3)
    with session_scope(factory) as session:
        for item_id, resolution in zip(
            ids, [Resolution.CONSENSUS, Resolution.MODEL, Resolution.EXPERT], strict=True
        ):
            item = session.get(Item, item_id)
            resolve_item(session, item, project, label="bug", resolution=resolution, actor="x", now=NOW)
        audited = session.scalars(select(Audit.item_id).order_by(Audit.item_id)).all()
    assert audited == ids[:2]
