"""The import upsert writes through the driver: what the ORM reads back is what was given."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from bot.importer import ItemRow, upsert_items
from bot.items import get_project
from storage.db import read_scope, session_scope
from storage.models import Item, ItemEvent


def test_imported_rows_read_back_through_the_orm_as_given(factory):
    rows = [
        ItemRow("a", "plain", {}, None),
        ItemRow(
            "b", "ünïcödé 'quotes' %s ? <b>", {"language": "de", "n": 3, "nested": {"x": [1, None]}}, "bug"
        ),
        ItemRow("c", "x" * 5000, {"flag": True, "price": 1.5}, None),
    ]
    with session_scope(factory) as session:
        report = upsert_items(session, get_project(session, "support"), rows)
    assert (report.new, report.unchanged, report.changed) == (3, 0, 0)
    with read_scope(factory) as session:
        items = session.scalars(select(Item).order_by(Item.import_seq)).all()
        got = [
            (i.external_id, i.text, i.meta, i.gold_label, i.status, i.message_dirty, i.import_seq)
            for i in items
        ]
        stamps = {i.created_at for i in items} | {i.updated_at for i in items}
        events = session.scalars(select(ItemEvent).order_by(ItemEvent.id)).all()
        history = [(e.item_id, e.action, e.detail, e.actor, e.created_at) for e in events]
        ids = [i.id for i in items]
    assert got == [
        (r.external_id, r.text, r.meta, r.gold_label, "queued", False, k) for k, r in enumerate(rows, start=1)
    ]
    (stamp,) = stamps  # one timestamp for the whole import, aware and UTC
    assert stamp.tzinfo is not None and stamp.utcoffset().total_seconds() == 0
    assert abs((datetime.now(UTC) - stamp).total_seconds()) < 60
    assert [h[:3] for h in history] == [(i, "queued", None) for i in ids]
    assert {h[4] for h in history} == {stamp}
    with session_scope(factory) as session:  # the same file again: nothing new
        again = upsert_items(session, get_project(session, "support"), rows)
    assert (again.new, again.unchanged) == (0, 3)
