"""Advisory locks: one holder per name across processes (PostgreSQL), always held on SQLite."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from storage.advisory import AdvisoryLocks, lock_key
from storage.db import make_engine


def test_keys_are_stable_across_processes_and_distinct():
    # The same name gives the same key in every process (no per-process hash seed).
    assert lock_key("channel:C0LABELS") == lock_key("channel:C0LABELS")
    assert lock_key("channel:C0LABELS") != lock_key("channel:C0OTHER")
    assert -(2**63) <= lock_key("dm-sessions") < 2**63


def test_on_sqlite_every_lock_is_held(engine):
    if engine.dialect.name != "sqlite":
        pytest.skip("the SQLite no-op; PostgreSQL's locks are tested below")
    one, two = AdvisoryLocks(engine), AdvisoryLocks(engine)
    assert one.hold("channel:C1") and two.hold("channel:C1") and one.check()


@pytest.fixture
def hosts(engine, database_url):
    """Two processes' locks: two engines on one database, as two hosts have."""
    if engine.dialect.name != "postgresql":
        pytest.skip("advisory locks need PostgreSQL (SQLite is one host: its locks are no-ops)")
    other = make_engine(database_url)
    one, two = AdvisoryLocks(engine), AdvisoryLocks(other)
    yield one, two
    one.close()
    two.close()
    other.dispose()


def test_one_holder_at_a_time_until_it_releases_or_closes(hosts):
    one, two = hosts
    assert one.hold("channel:C1")
    assert one.hold("channel:C1")  # held: no second query needed, still ours
    assert not two.hold("channel:C1")
    assert two.hold("channel:C2")  # another channel is another lock
    one.release("channel:C1")
    assert two.hold("channel:C1") and not one.hold("channel:C1")
    two.close()  # a stopped process: the server releases its locks with the connection
    assert one.hold("channel:C1") and one.hold("channel:C2")
    assert one.held() == {"channel:C1", "channel:C2"}


def test_a_lost_connection_forgets_its_locks_and_another_process_takes_them(hosts, engine):
    one, two = hosts
    assert one.hold("channel:C1") and one.check()
    pid = one._conn.execute(text("SELECT pg_backend_pid()")).scalar()  # type: ignore[union-attr]
    with engine.connect() as admin:  # the connection dies (a network cut, a database restart)
        admin.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
    assert not one.check()  # noticed before the next round's posts
    assert one.held() == frozenset()
    # The server releases a dead session's locks as its backend exits: at once, or a moment later.
    for _ in range(100):
        if two.hold("channel:C1"):
            break
        time.sleep(0.05)
    assert two.held() == {"channel:C1"}
    assert not one.hold("channel:C1")  # reconnected, but the channel is the other's now
    assert one.check()
