"""The admins' history (``bot.history``): pause, resume and reveal each record one row with the
actor, in the change's own transaction; the table is append-only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError

from bot import admin
from bot.authorization import Action
from bot.history import AdminAction, admin_events
from bot.items import get_project
from storage.db import session_scope
from storage.models import AdminEvent
from tests.bot.conftest import add_items, allow

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def events(factory, item_id=None):
    with session_scope(factory) as session:
        pid = get_project(session, "support").id
        return [
            (e.actor, e.action, e.external_id, e.detail) for e in admin_events(session, pid, item_id=item_id)
        ]


def test_pause_and_resume_record_their_actor_and_a_no_op_records_nothing(factory, project):
    with session_scope(factory) as session:
        assert admin.pause(session, allow(project, "U0ADMIN", Action.ADMIN), NOW).changed
        assert not admin.pause(session, allow(project, "U0OTHER", Action.ADMIN), NOW).changed
        assert admin.resume(
            session, allow(project, "U0OTHER", Action.ADMIN), NOW + timedelta(hours=1)
        ).changed
        assert not admin.resume(session, allow(project, "U0ADMIN", Action.ADMIN), NOW).changed
    assert events(factory) == [
        ("U0ADMIN", AdminAction.PAUSE, None, {}),
        ("U0OTHER", AdminAction.RESUME, None, {"paused_by": "U0ADMIN"}),
    ]


def test_a_pause_rolled_back_leaves_no_row(factory, project):
    with pytest.raises(RuntimeError), session_scope(factory) as session:
        admin.pause(session, allow(project, "U0ADMIN", Action.ADMIN), NOW)
        raise RuntimeError("the transaction fails after the pause")
    assert events(factory) == []
    with session_scope(factory) as session:
        assert not admin.is_paused(session, get_project(session, "support").id)


def test_reveal_by_external_id_or_number_records_who_saw_what(factory, project):
    ids = add_items(factory, 2)
    permit = allow(project, "U0ADMIN", Action.REVEAL)
    with session_scope(factory) as session:
        first = admin.reveal(session, permit, "item-0", NOW)
        second = admin.reveal(session, permit, f"#{ids[1]}", NOW)
        assert admin.reveal(session, permit, "nope", NOW) is None
        assert admin.reveal(session, permit, "#99999999999999999999999", NOW) is None
        assert admin.reveal(session, permit, "#", NOW) is None
    assert first is not None and (first.external_id, first.text) == ("item-0", "text 0")
    assert second is not None and second.external_id == "item-1"
    assert events(factory, ids[0]) == [("U0ADMIN", "reveal", "item-0", {"external_id": "item-0", "chars": 6})]
    assert len(events(factory)) == 2


def test_reveal_needs_a_reveal_permit(factory, project):
    add_items(factory, 1)
    with session_scope(factory) as session, pytest.raises(PermissionError):
        admin.reveal(session, allow(project, "U0ADMIN", Action.ADMIN), "item-0", NOW)
    assert events(factory) == []


def test_reveal_of_another_projects_item_finds_nothing(factory, project):
    add_items(factory, 1, key="other")
    with session_scope(factory) as session:
        assert admin.reveal(session, allow(project, "U0ADMIN", Action.REVEAL), "item-0", NOW) is None


@pytest.mark.parametrize("statement", ["update", "delete"])
def test_the_admin_history_is_append_only(factory, project, statement):
    with session_scope(factory) as session:
        admin.pause(session, allow(project, "U0ADMIN", Action.ADMIN), NOW)
    with pytest.raises(DBAPIError, match="admin_events is append-only"), session_scope(factory) as session:
        if statement == "update":
            session.execute(update(AdminEvent).values(actor="U0SOMEONE"))
        else:
            session.execute(text("DELETE FROM admin_events"))
    with session_scope(factory) as session:
        assert session.scalars(select(AdminEvent.actor)).all() == ["U0ADMIN"]


def test_limit_gives_the_newest_oldest_first(factory, project):
    permit = allow(project, "U0ADMIN", Action.ADMIN)
    with session_scope(factory) as session:
        for hour in range(3):
            admin.pause(session, permit, NOW + timedelta(hours=hour))
            admin.resume(session, permit, NOW + timedelta(hours=hour, minutes=30))
        pid = get_project(session, "support").id
        newest = admin_events(session, pid, limit=2)
    assert [e.action for e in newest] == ["pause", "resume"] and newest[0].at == NOW + timedelta(hours=2)
