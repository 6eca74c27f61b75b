import socket
import threading
import time

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from storage.db import (
    SchemaError,
    _OneProbe,
    current_revision,
    ensure_schema,
    head_revision,
    make_engine,
    session_scope,
    unreachable,
)
from storage.models import Item, ItemEvent, Label, Project, utcnow
from tests.conftest import IS_POSTGRES, TEST_DATABASE


def add_item(session, project, ext="a"):
    item = Item(project_id=project.id, external_id=ext, text="t", meta={}, content_hash="h", import_seq=1)
    session.add(item)
    session.flush()
    return item


def test_new_database_is_created_at_head(empty_database_url):
    engine = make_engine(empty_database_url)
    assert current_revision(engine) is None
    ensure_schema(engine)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_items_leave_room_for_in_place_updates_on_postgresql(engine):
    """Migration 0003: re-scoring rewrites every item, and room on the page keeps it off the indexes."""
    if engine.dialect.name != "postgresql":
        pytest.skip("a PostgreSQL storage parameter")
    with engine.connect() as conn:
        options = conn.execute(text("SELECT reloptions FROM pg_class WHERE relname = 'items'")).scalar_one()
    assert options == ["fillfactor=50"]


def test_outdated_schema_is_refused_with_the_fix(engine):
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0000'"))
    with pytest.raises(SchemaError, match="newer than this labelbot"):
        ensure_schema(engine)


def test_foreign_tables_are_refused(empty_database_url):
    engine = make_engine(empty_database_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE something_else (id INTEGER)"))
    with pytest.raises(SchemaError, match="no labelbot schema version"):
        ensure_schema(engine)


def test_history_is_append_only(factory):
    with session_scope(factory) as session:
        project = Project(key="p")
        session.add(project)
        session.flush()
        item = add_item(session, project)
        session.add(ItemEvent(item_id=item.id, project_id=project.id, actor="U1", action="label", label="x"))
    for statement in ("UPDATE item_events SET label = 'y'", "DELETE FROM item_events"):
        with pytest.raises(DBAPIError, match="append-only"), session_scope(factory) as session:
            session.execute(text(statement))


def test_one_label_per_item_and_user(factory):
    with session_scope(factory) as session:
        project = Project(key="p")
        session.add(project)
        session.flush()
        item = add_item(session, project)
        item_id = item.id
        session.add(Label(item_id=item_id, user_id="U1", value="a"))
    with pytest.raises(IntegrityError), session_scope(factory) as session:
        session.add(Label(item_id=item_id, user_id="U1", value="b"))


def test_external_id_unique_per_project(factory):
    with session_scope(factory) as session:
        one, two = Project(key="one"), Project(key="two")
        session.add_all([one, two])
        session.flush()
        add_item(session, one, "same")
        add_item(session, two, "same")  # another project: fine
    with pytest.raises(IntegrityError), session_scope(factory) as session:
        one = session.query(Project).filter_by(key="one").one()
        add_item(session, one, "same")


def test_datetimes_come_back_aware(factory):
    with session_scope(factory) as session:
        session.add(Project(key="p", created_at=utcnow()))
    with session_scope(factory) as session:
        assert session.query(Project).one().created_at.tzinfo is not None


def test_behind_schema_names_the_command_and_the_upgrade_keeps_the_model_order(empty_database_url):
    """A 0001 database (priorities on the items) is refused, then migrated: its scored items
    become run 1 of the ranking, in the order the old index gave them."""
    from storage.db import upgrade

    engine = make_engine(empty_database_url)
    upgrade(engine, "0001")
    now = utcnow().isoformat(sep=" ")
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO projects (id, key, created_at) VALUES (1, 'p', :now), (2, 'q', :now)"),
            {"now": now},
        )
        # (id, project, seq, status, priority, model_version): 5 unscored, 4 resolved.
        rows = [
            (1, 1, 1, "queued", 0.2, 1),
            (2, 1, 2, "queued", 0.9, 1),
            (3, 1, 3, "open", 0.9, 1),
            (4, 1, 4, "resolved", 1.0, 1),
            (5, 1, 5, "queued", 0.0, None),
            (6, 2, 1, "queued", 0.5, 2),
        ]
        for id_, pid, seq, status, priority, version in rows:
            conn.execute(
                text(
                    "INSERT INTO items (id, project_id, external_id, text, meta, content_hash, import_seq, status, "
                    "round, message_dirty, revision, priority, model_version, created_at, updated_at) VALUES "
                    "(:id, :pid, :ext, 't', '{}', 'h', :seq, :status, 1, false, 0, :priority, :version, :now, :now)"
                ),
                {
                    "id": id_,
                    "pid": pid,
                    "ext": str(id_),
                    "seq": seq,
                    "status": status,
                    "priority": priority,
                    "version": version,
                    "now": now,
                },
            )
    with pytest.raises(
        SchemaError, match=r"outdated \(0001, this labelbot needs 0007\); run `labelbot db upgrade`"
    ):
        ensure_schema(engine)
    upgrade(engine)
    ensure_schema(engine)
    with engine.connect() as conn:
        ranks = conn.execute(
            text("SELECT project_id, run, rank, item_id FROM dispatch_ranks ORDER BY project_id, run, rank")
        ).all()
        projects = conn.execute(text("SELECT id, score_runs, dispatch_run FROM projects ORDER BY id")).all()
    assert [tuple(r) for r in ranks] == [(1, 1, 0, 2), (1, 1, 1, 3), (1, 1, 2, 1), (2, 1, 0, 6)]
    assert [tuple(p) for p in projects] == [(1, 1, 1), (2, 1, 1)]
    engine.dispose()


def test_session_scope_inside_another_raises_instead_of_hanging(factory):
    with session_scope(factory), pytest.raises(RuntimeError, match="inside another"), session_scope(factory):
        pass


def test_read_scope_does_not_wait_for_a_writer(committing_factory):
    factory = committing_factory
    import threading

    from storage.db import read_scope

    with session_scope(factory) as session:
        session.add(Project(key="p"))
    holding, release = threading.Event(), threading.Event()

    def writer():
        with session_scope(factory) as session:
            session.add(Project(key="q"))
            session.flush()
            holding.set()
            release.wait(10)

    thread = threading.Thread(target=writer)
    thread.start()
    holding.wait(10)
    try:
        with read_scope(factory) as session:  # the writer holds the write lock right now
            assert [p.key for p in session.query(Project)] == ["p"]
    finally:
        release.set()
        thread.join()


def test_urls_in_messages_hide_every_password():
    from storage.db import redact_url

    shown = redact_url("postgresql://u:pw1@h/db?password=pw2&sslpassword=pw3&application_name=bot")
    assert "pw1" not in shown and "pw2" not in shown and "pw3" not in shown
    assert "application_name=bot" in shown and shown.startswith("postgresql://u:***@h/db")


def test_the_models_are_the_migrated_schema(engine):
    """``storage/models.py`` and the migrations describe the same tables, columns, keys and indexes."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from storage.models import Base

    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert differences == []


@pytest.mark.skipif(not IS_POSTGRES, reason="PostgreSQL's connections")
def test_a_server_that_never_answers_fails_the_connection_in_seconds():
    """A server that accepts and never answers: connect_timeout (2 s), not psycopg's 130 s."""
    with socket.socket() as hung:  # listening, never accepting: the kernel completes the handshake
        hung.bind(("127.0.0.1", 0))
        hung.listen(16)
        url = make_url(TEST_DATABASE).set(
            drivername="postgresql+psycopg", host="127.0.0.1", port=hung.getsockname()[1]
        )
        engine = make_engine(url.render_as_string(hide_password=False))
        started = time.monotonic()
        with pytest.raises(OperationalError) as failed:
            engine.connect().close()
        engine.dispose()
    assert time.monotonic() - started < 10
    assert unreachable(failed.value) and not unreachable(IntegrityError("INSERT", {}, Exception("dup")))


@pytest.mark.skipif(not IS_POSTGRES, reason="PostgreSQL's connections")
def test_an_open_connection_is_bounded_by_tcp_settings_that_the_url_can_change():
    """A partition of an open connection: libpq's tcp_user_timeout (2.5 s) and keepalives.

    Their effect needs lost packets, which nothing here can make (no packet filter; a proxy in
    user space acknowledges what it holds): the test checks that libpq was given them."""
    url = make_url(TEST_DATABASE).set(drivername="postgresql+psycopg")
    engine = make_engine(url.render_as_string(hide_password=False))
    with engine.connect() as conn:
        given = conn.connection.driver_connection.info.get_parameters()
    engine.dispose()
    assert given["tcp_user_timeout"] == "2500" and given["keepalives_idle"] == "10"
    engine = make_engine(
        url.update_query_dict({"tcp_user_timeout": "9000"}).render_as_string(hide_password=False)
    )
    with engine.connect() as conn:
        given = conn.connection.driver_connection.info.get_parameters()
    engine.dispose()
    assert given["tcp_user_timeout"] == "9000" and given["keepalives_count"] == "3"


class _Driver:
    """A DBAPI whose connect blocks until told, then fails or succeeds."""

    class OperationalError(Exception):
        pass

    def __init__(self) -> None:
        self.entered = threading.Semaphore(0)
        self.go = threading.Event()
        self.fail = True
        self.attempts = 0

    @property
    def loaded_dbapi(self):
        return self

    def connect(self, *args, **kwargs):
        self.attempts += 1
        self.entered.release()
        self.go.wait(10)
        if self.fail:
            raise self.OperationalError("no answer")
        return "connection"


def test_while_the_database_is_down_one_attempt_finds_out_and_the_others_fail_at_once():
    now = [0.0]
    driver, probe = _Driver(), _OneProbe(pause=1.0, clock=lambda: now[0])
    driver.go.set()
    with pytest.raises(driver.OperationalError):
        probe.connect(driver, None, (), {})  # the outage starts: that attempt waited and failed
    assert probe.down
    with pytest.raises(driver.OperationalError, match="finding out"):
        probe.connect(driver, None, (), {})  # within the pause: no second wait (a failed group's re-runs)
    assert driver.attempts == 1
    now[0] = 1.0
    driver.go.clear()
    outcomes: list[BaseException] = []

    def find_out() -> None:
        try:
            probe.connect(driver, None, (), {})
        except driver.OperationalError as exc:
            outcomes.append(exc)

    finding_out = threading.Thread(target=find_out)
    finding_out.start()
    assert driver.entered.acquire(timeout=10) and driver.entered.acquire(
        timeout=10
    )  # both attempts reached the driver
    for _ in range(3):  # while one finds out, the others do not wait for it
        with pytest.raises(driver.OperationalError, match="finding out"):
            probe.connect(driver, None, (), {})
    assert driver.attempts == 2
    driver.go.set()
    finding_out.join(10)
    assert len(outcomes) == 1  # still down
    now[0] = 2.0
    driver.fail = False
    assert probe.connect(driver, None, (), {}) == "connection"  # back: the next attempt connects
    assert not probe.down
