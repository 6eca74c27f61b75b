"""DriverStatement gives what Session.execute gives: SQLAlchemy itself is the oracle."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import bindparam, select, text
from sqlalchemy.exc import IntegrityError

from bot.items import EVENTS, ITEMS
from bot.labeling import LABELS
from storage.db import session_scope, unreachable
from storage.driver import DriverStatement
from storage.models import Item, Label, Project
from tests.conftest import IS_POSTGRES

AT = datetime(2026, 12, 3, 17, 0, tzinfo=UTC)


def _item(session, **extra):
    project = Project(key="p")
    session.add(project)
    session.flush()
    item = Item(
        project_id=project.id,
        external_id="x1",
        text="text",
        meta={"source": "mail", "n": 3, "nested": {"ok": True}},
        content_hash="h",
        import_seq=1,
        status="open",
        channel="C1",
        message_ts="1.2",
        model_label="bug",
        model_confidence=0.75,
        posted_at=AT,
        **extra,
    )
    session.add(item)
    session.flush()
    for n, value in enumerate(["bug", "billing"]):
        session.add(Label(item_id=item.id, user_id=f"U{n}", value=value, created_at=AT, updated_at=AT))
    session.flush()
    return item.id


READ = (
    select(ITEMS, LABELS.c.user_id.label("voter"), LABELS.c.value.label("vote"))
    .select_from(ITEMS.outerjoin(LABELS, LABELS.c.item_id == ITEMS.c.id))
    .where(ITEMS.c.id == bindparam("item_id"))
    .order_by(LABELS.c.user_id)
)


def test_rows_are_those_sqlalchemy_reads(factory):
    with session_scope(factory) as session:
        item_id = _item(session)
        expected = session.execute(READ, {"item_id": item_id}).all()
        got = DriverStatement(READ).rows(session, {"item_id": item_id})
        assert DriverStatement(READ).rows(session, {"item_id": -1}) == []
    assert len(got) == len(expected) == 2
    for row, oracle in zip(got, expected, strict=True):
        assert tuple(row) == tuple(oracle)
        assert [type(value) for value in row] == [type(value) for value in oracle]
        assert row.posted_at == AT and row.posted_at.tzinfo == UTC  # aware UTC, as UTCDateTime gives
        assert row.meta == {"source": "mail", "n": 3, "nested": {"ok": True}}
        assert (row.status, row.voter) == (oracle.status, oracle.voter)


def test_a_write_stores_what_sqlalchemy_stores(factory):
    insert = EVENTS.insert().values(
        item_id=bindparam("b_item"),
        project_id=bindparam("b_project"),
        actor=bindparam("b_user"),
        action="label",
        round=1,
        previous_label=None,
        label=bindparam("b_value"),
        detail=bindparam("b_detail", type_=EVENTS.c.detail.type),
        created_at=bindparam("b_at"),
    )
    eastern = AT.astimezone(timezone(timedelta(hours=-5)))
    with session_scope(factory) as session:
        item_id = _item(session)
        project_id = session.get_one(Item, item_id).project_id
        for actor, detail in (("U1", {"gold_correct": True}), ("U2", None)):
            params = {"b_item": item_id, "b_project": project_id, "b_value": "bug", "b_detail": detail}
            session.execute(insert, {**params, "b_user": f"{actor}-sqlalchemy", "b_at": eastern})
            DriverStatement(insert).execute(session, {**params, "b_user": f"{actor}-driver", "b_at": eastern})
        rows = session.execute(
            select(EVENTS.c.actor, EVENTS.c.detail, EVENTS.c.created_at).where(EVENTS.c.item_id == item_id)
        ).all()
    stored = {actor: (detail, at) for actor, detail, at in rows}
    for actor in ("U1", "U2"):
        assert stored[f"{actor}-driver"] == stored[f"{actor}-sqlalchemy"]
    assert stored["U1-driver"] == ({"gold_correct": True}, AT)
    if IS_POSTGRES:  # JSON(none_as_null=True): SQL NULL, not the JSON 'null'
        with session_scope(factory) as session:
            nulls = session.scalar(
                text("SELECT count(*) FROM item_events WHERE detail IS NULL AND actor LIKE 'U2-%'")
            )
        assert nulls == 2


def test_a_driver_error_is_sqlalchemys_and_the_session_goes_on(factory):
    insert = LABELS.insert().values(
        item_id=bindparam("b_item"), user_id="U0", value="bug", source="slack", created_at=AT, updated_at=AT
    )
    with session_scope(factory) as session:
        item_id = _item(session)
    with pytest.raises(IntegrityError), session_scope(factory) as session:
        DriverStatement(insert).execute(session, {"b_item": item_id})  # U0 labeled it already
    with session_scope(factory) as session:
        assert (
            session.scalar(select(Label.value).where(Label.item_id == item_id, Label.user_id == "U0"))
            == "bug"
        )


@pytest.mark.skipif(not IS_POSTGRES, reason="a server connection to lose")
def test_a_lost_connection_is_an_outage_and_is_replaced(committing_factory):
    with session_scope(committing_factory) as session:
        item_id = _item(session)
    read = DriverStatement(READ)
    seen = {}
    with pytest.raises(Exception) as lost, session_scope(committing_factory) as session:
        connection = session.connection()
        pid = session.scalar(text("SELECT pg_backend_pid()"))
        with committing_factory() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        try:
            read.rows(session, {"item_id": item_id})
        except Exception as exc:
            seen["raised"], seen["invalidated"] = exc, connection.invalidated
            raise
    assert unreachable(seen["raised"]) and seen["raised"].connection_invalidated
    assert seen["invalidated"]  # as SQLAlchemy does: the pool drops the connection at once
    assert unreachable(lost.value)
    with session_scope(committing_factory) as session:  # the pool gives a new connection
        assert len(read.rows(session, {"item_id": item_id})) == 2


@pytest.mark.skipif(not IS_POSTGRES, reason="SQLite runs the statement through Session.execute")
def test_statements_that_sqlalchemy_completes_are_refused(factory):
    expanding = select(ITEMS.c.id).where(ITEMS.c.id.in_(bindparam("ids", expanding=True)))
    with session_scope(factory) as session, pytest.raises(ValueError, match="plain named parameters"):
        DriverStatement(expanding).rows(session, {"ids": [1, 2]})
    defaulted = EVENTS.insert().values(item_id=1, project_id=1, actor="U1", action="label")  # round: 1
    with session_scope(factory) as session, pytest.raises(ValueError, match="every column it writes"):
        DriverStatement(defaulted).execute(session, {})
