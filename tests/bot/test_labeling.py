import pytest
from sqlalchemy import select

from bot.labeling import record_label, skip_item, undo_label
from bot.refs import ItemRef
from storage.db import session_scope
from storage.models import Escalation, Item, ItemEvent, Label
from tests.bot.conftest import add_items, allow


def label(factory, project, item_id, user, value, round_=1):
    with session_scope(factory) as session:
        return record_label(session, allow(project, user), ItemRef(item_id, round_), value)


def events(factory, item_id):
    with session_scope(factory) as session:
        return [
            (e.actor, e.action, e.label, e.previous_label)
            for e in session.scalars(
                select(ItemEvent).where(ItemEvent.item_id == item_id).order_by(ItemEvent.id)
            )
        ]


def item(factory, item_id):
    with session_scope(factory) as session:
        return session.get(Item, item_id)


def test_consensus_resolves_item(factory, project):
    (item_id,) = add_items(factory, 1)
    assert label(factory, project, item_id, "U1", "billing").kind == "recorded"
    assert label(factory, project, item_id, "U2", "billing").card.n_labels == 2
    result = label(factory, project, item_id, "U3", "bug")
    assert result.card.status == "resolved" and not result.still_open
    row = item(factory, item_id)
    assert (row.status, row.resolution, row.final_label) == ("resolved", "consensus", "billing")
    assert row.agreement == pytest.approx(2 / 3)
    assert row.message_dirty


def test_disagreement_escalates_with_routed_experts(factory, project):
    (item_id,) = add_items(factory, 1, meta={"language": "de"})
    for user, value in (("U1", "billing"), ("U2", "bug"), ("U3", "other")):
        label(factory, project, item_id, user, value)
    assert item(factory, item_id).status == "escalated"
    with session_scope(factory) as session:
        esc = session.scalar(select(Escalation).where(Escalation.item_id == item_id))
        assert esc.reason == "disagreement" and esc.status == "open"
        assert esc.experts == ["U0EXPERT", "U0FIN", "U0DE"]


def test_change_is_kept_in_history_and_double_click_adds_nothing(factory, project):
    (item_id,) = add_items(factory, 1)
    label(factory, project, item_id, "U1", "billing")
    assert label(factory, project, item_id, "U1", "billing").kind == "unchanged"
    assert label(factory, project, item_id, "U1", "bug").kind == "changed"
    assert events(factory, item_id)[-2:] == [
        ("U1", "label", "billing", None),
        ("U1", "change", "bug", "billing"),
    ]
    with session_scope(factory) as session:
        assert session.scalars(select(Label.value).where(Label.item_id == item_id)).all() == ["bug"]


def test_undo_and_skip(factory, project):
    (item_id,) = add_items(factory, 1)
    label(factory, project, item_id, "U1", "billing")
    with session_scope(factory) as session:
        assert undo_label(session, allow(project, "U1"), ItemRef(item_id, 1)).kind == "undone"
        assert undo_label(session, allow(project, "U1"), ItemRef(item_id, 1)).kind == "refused"
        assert skip_item(session, allow(project, "U2"), ItemRef(item_id, 1)).kind == "skipped"
        assert skip_item(session, allow(project, "U2"), ItemRef(item_id, 1)).kind == "unchanged"
    assert [e[1] for e in events(factory, item_id)][-3:] == ["label", "undo", "skip"]


def test_closed_items_and_old_rounds_are_refused(factory, project):
    (item_id,) = add_items(factory, 1)
    assert label(factory, project, item_id, "U1", "billing", round_=2).kind == "refused"
    for user in ("U1", "U2", "U3"):
        label(factory, project, item_id, user, "billing")
    late = label(factory, project, item_id, "U4", "bug")
    assert late.kind == "refused" and "resolved" in late.reason
    assert label(factory, project, item_id, "U1", "nonsense").kind == "refused"
    assert label(factory, project, 999_999, "U1", "bug").kind == "refused"


def test_queued_items_cannot_be_labeled(factory, project):
    (item_id,) = add_items(factory, 1, open_=False)
    assert label(factory, project, item_id, "U1", "bug").kind == "refused"


def test_a_label_and_a_change_write_the_label_its_history_and_the_refresh_mark(factory, project):
    """What a click writes, on both databases (PostgreSQL fuses it into fewer statements)."""
    (item_id,) = add_items(factory, 1)
    with session_scope(factory) as session:
        session.get_one(Item, item_id).gold_label = "bug"
        session.get_one(Item, item_id).message_dirty = False
    before = item(factory, item_id).revision or 0
    assert label(factory, project, item_id, "U1", "billing").kind == "recorded"
    assert label(factory, project, item_id, "U1", "bug").kind == "changed"
    assert label(factory, project, item_id, "U1", "bug").kind == "unchanged"
    assert events(factory, item_id)[-2:] == [
        ("U1", "label", "billing", None),
        ("U1", "change", "bug", "billing"),
    ]
    with session_scope(factory) as session:
        details = session.scalars(
            select(ItemEvent.detail).where(ItemEvent.item_id == item_id, ItemEvent.actor == "U1")
        ).all()
        values = session.execute(select(Label.user_id, Label.value).where(Label.item_id == item_id)).all()
        assert details == [{"gold_correct": False}, {"gold_correct": True}]
        assert values == [("U1", "bug")]
    row = item(factory, item_id)
    assert row.message_dirty and row.revision == before + 2 and row.status == "open"
