"""A user's actions on an item apply in the order the user made them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.labeling import LabelOutcome, lock_items, record_label, undo_label
from bot.ordering import STALE, Order, take_turn
from bot.refs import Click, ItemRef
from storage.db import session_scope
from storage.models import Item, ItemEvent
from tests.bot.conftest import add_items, allow

T0 = datetime(2026, 12, 3, 9, tzinfo=UTC)


def test_newer_same_and_older_actions(factory):
    (item_id,) = add_items(factory, 1)
    with session_scope(factory) as session:
        assert take_turn(session, item_id, "U1", T0) == Order.NEWEST
        assert take_turn(session, item_id, "U1", T0) == Order.SAME
        assert take_turn(session, item_id, "U1", T0 - timedelta(microseconds=1)) == Order.OLDER
        assert take_turn(session, item_id, "U1", T0 + timedelta(microseconds=1)) == Order.NEWEST
        assert take_turn(session, item_id, "U1", T0) == Order.OLDER  # the latest moved on
        assert take_turn(session, item_id, "U2", T0 - timedelta(days=1)) == Order.NEWEST  # per user


def test_an_older_label_or_undo_never_overwrites_a_newer_one(factory, project):
    (item_id,) = add_items(factory, 1)
    ref, where = ItemRef(item_id, 1), ("C0LABELS", "1700000000.000000")

    def label(value, seconds):
        with session_scope(factory) as session:
            return record_label(
                session,
                allow(project, "U1"),
                ref,
                value,
                click=Click(*where, T0 + timedelta(seconds=seconds)),
            )

    assert label("billing", 1).kind == LabelOutcome.RECORDED
    assert label("bug", 3).kind == LabelOutcome.CHANGED
    late = label("billing", 2)
    assert late.kind == LabelOutcome.REFUSED and late.reason == STALE
    with session_scope(factory) as session:
        old_undo = undo_label(
            session, allow(project, "U1"), ref, click=Click("C0LABELS", "9.9", T0 + timedelta(seconds=2))
        )
        assert old_undo.reason == STALE
    assert label("bug", 3).kind == LabelOutcome.UNCHANGED  # the same click again: applied once


def test_a_click_from_another_channel_or_message_is_refused(factory, project):
    (item_id,) = add_items(factory, 1)
    ref = ItemRef(item_id, 1)
    with session_scope(factory) as session:
        other_channel = record_label(
            session, allow(project, "U1"), ref, "bug", click=Click("C0OTHER", "1700000000.000000")
        )
        other_message = record_label(
            session, allow(project, "U1"), ref, "bug", click=Click("C0LABELS", "1.2")
        )
        assert other_channel.kind == other_message.kind == LabelOutcome.REFUSED
        undo_from_ephemeral = undo_label(session, allow(project, "U1"), ref, click=Click("C0LABELS", "1.2"))
        assert undo_from_ephemeral.reason == "You have no label on this item to undo."  # the channel is right


def test_a_click_on_an_item_its_group_locked_first_keeps_every_rule(factory, project):
    """Click groups lock their items first (bot.labeling.lock_items); a label click then reads and
    writes in fewer statements, with the same outcomes as a click on its own."""
    (item_id,) = add_items(factory, 1)
    ref, where = ItemRef(item_id, 1), ("C0LABELS", "1700000000.000000")

    def label(value, seconds, user="U1"):
        with session_scope(factory) as session:
            lock_items(session, [item_id, 0])
            return record_label(
                session,
                allow(project, user),
                ref,
                value,
                click=Click(*where, T0 + timedelta(seconds=seconds)),
            )

    assert label("billing", 1).kind == LabelOutcome.RECORDED
    assert label("billing", 1).kind == LabelOutcome.UNCHANGED  # the same click again
    assert label("billing", 5).kind == LabelOutcome.UNCHANGED  # the same label later: the turn moves on
    assert label("bug", 4).reason == STALE  # so a click made before it is older
    assert label("bug", 6).kind == LabelOutcome.CHANGED
    assert label("bug", 2, user="U2").kind == LabelOutcome.RECORDED  # per user
    with session_scope(factory) as session:
        assert take_turn(session, item_id, "U1", T0 + timedelta(seconds=6)) == Order.SAME
        assert take_turn(session, item_id, "U2", T0 + timedelta(seconds=2)) == Order.SAME
        lock_items(session, [item_id + 1000])
        gone = record_label(session, allow(project, "U1"), ItemRef(item_id + 1000, 1), "bug")
        assert gone.kind == LabelOutcome.REFUSED and "no longer exists" in gone.reason
        history = session.execute(
            select(ItemEvent.actor, ItemEvent.action, ItemEvent.label, ItemEvent.previous_label)
            .where(ItemEvent.item_id == item_id, ItemEvent.actor != "labelbot")
            .order_by(ItemEvent.id)
        ).all()
        assert [tuple(row) for row in history] == [
            ("U1", "label", "billing", None),
            ("U1", "change", "bug", "billing"),
            ("U2", "label", "bug", None),
        ]
        item = session.get_one(Item, item_id)
        assert item.message_dirty and item.status == "open"
