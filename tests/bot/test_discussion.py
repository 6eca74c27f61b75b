"""Discussion in escalation threads, from parsed events: stored once, edited, deleted."""

from __future__ import annotations

from sqlalchemy import select

from bot.discussion import Stored, ThreadEvent, store_thread_event
from bot.slack.payload import thread_event
from storage.db import session_scope
from storage.models import Escalation, Item, ThreadMessage
from tests.bot.conftest import add_items


def escalated_item(factory):
    (item_id,) = add_items(factory, 1)
    with session_scope(factory) as session:
        item = session.get(Item, item_id)
        session.add(Escalation(item_id=item_id, round=1, reason="annotator", experts=[], status="open"))
        return item.channel, item.message_ts


def test_a_reply_is_stored_once_then_edited_and_deleted(factory):
    channel, parent = escalated_item(factory)
    reply = ThreadEvent(
        "posted", "Ev1", channel, ts="2.1", thread_ts=parent, user="U1", text="I think billing"
    )
    with session_scope(factory) as session:
        assert store_thread_event(session, reply) == Stored.STORED
        assert store_thread_event(session, reply) == Stored.DUPLICATE  # a redelivery
        assert (
            store_thread_event(session, ThreadEvent("edited", "Ev2", channel, ts="2.1", text="bug"))
            == Stored.EDITED
        )
        assert store_thread_event(session, ThreadEvent("deleted", "Ev3", channel, ts="2.1")) == Stored.DELETED
        row = session.scalars(select(ThreadMessage)).one()
        assert (row.text, row.deleted, row.edited_at is not None) == ("bug", True, True)


def test_what_is_not_discussion_is_ignored(factory):
    channel, parent = escalated_item(factory)
    cases = [
        ThreadEvent("posted", "Ev1", channel, ts="2.1", thread_ts=parent, from_bot=True),  # the bot's own
        ThreadEvent("posted", "Ev2", channel, ts="2.2"),  # not in a thread
        ThreadEvent("posted", "Ev3", channel, ts="2.3", thread_ts="9.9"),  # another thread
        ThreadEvent("posted", "", channel, ts="2.4", thread_ts=parent),  # no event id to deduplicate by
        ThreadEvent("edited", "Ev5", channel, ts="7.7", text="x"),  # a message never stored
    ]
    with session_scope(factory) as session:
        assert [store_thread_event(session, e) for e in cases] == [Stored.IGNORED] * len(cases)


def test_slack_message_events_parse_into_thread_events():
    body = {
        "event_id": "Ev9",
        "event": {
            "type": "message",
            "channel": "C1",
            "ts": "2.1",
            "thread_ts": "1.1",
            "user": "U1",
            "text": "hi",
        },
    }
    assert thread_event(body) == ThreadEvent(
        "posted", "Ev9", "C1", ts="2.1", thread_ts="1.1", user="U1", text="hi"
    )
    changed = {
        "event_id": "Ev10",
        "event": {
            "subtype": "message_changed",
            "channel": "C1",
            "message": {"ts": "2.1", "text": "edit", "bot_id": "B1"},
        },
    }
    assert thread_event(changed) == ThreadEvent("edited", "Ev10", "C1", ts="2.1", text="edit", from_bot=True)
    deleted = {
        "event_id": "Ev11",
        "event": {"subtype": "message_deleted", "channel": "C1", "previous_message": {"ts": "2.1"}},
    }
    assert thread_event(deleted) == ThreadEvent("deleted", "Ev11", "C1", ts="2.1")
    assert thread_event({"event": {"subtype": "channel_join"}}) is None
    assert thread_event({"event": ["not", "an", "object"]}) is None
