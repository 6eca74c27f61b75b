"""Engine, sessions and schema management.

Only the edges (a listener, a CLI command, a scheduled job) open sessions, with
``with session_scope(factory) as session:``; everything else takes a ``Session``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import CursorResult, Engine, Result, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

__all__ = [
    "DEFAULT_DATABASE_URL",
    "SchemaError",
    "alembic_config",
    "changed",
    "current_revision",
    "driver_mark",
    "ensure_schema",
    "head_revision",
    "make_engine",
    "make_session_factory",
    "normalize_url",
    "read_scope",
    "redact_url",
    "session_scope",
    "unreachable",
    "upgrade",
]

DEFAULT_DATABASE_URL = "sqlite:///labelbot.db"
MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000
PG_CONNECT_TIMEOUT_S = 2
# libpq's TCP settings for a connection already open (each overridable in the URL's query): sent data
# unacknowledged for 2.5 s fails the connection (a network partition mid-click then ends before Slack's
# 3 s, not after minutes of retransmissions; a slow query sends nothing unacknowledged, so it is not
# cut), and keepalives find an idle pooled connection whose peer vanished within ~16 s.
PG_TCP_SETTINGS: dict[str, int] = {
    "tcp_user_timeout": 2500,
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 2,
    "keepalives_count": 3,
}
PROBE_PAUSE_S = 1.0  # while the database is down, at most one connection attempt a second waits
READ_ONLY = "labelbot_read_only"


class SchemaError(RuntimeError):
    """The database exists but its schema is not the one this code needs."""


SECRET_PARAMETERS = ("password", "passwd", "secret", "token", "key", "sslpassword")


def redact_url(url: str) -> str:
    """The URL with its password hidden, for logs and error messages: the user info's, and query
    parameters that carry one (``?password=…``, ``?sslpassword=…``)."""
    parsed = make_url(url)
    hidden = {name: "***" for name in parsed.query if any(word in name.lower() for word in SECRET_PARAMETERS)}
    return parsed.update_query_dict(hidden).render_as_string(hide_password=True)


def describe_error(exc: BaseException) -> str:
    """One line for a database that cannot be opened: the driver's own first line (SQLAlchemy
    adds a hint and a link on lines of their own), never the URL's password."""
    orig = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(orig).splitlines() if line.strip()]
    first = lines[0] if lines else ""
    return f"{type(orig).__name__}: {first}"[:300] if first else type(orig).__name__


def unreachable(exc: BaseException) -> bool:
    """The database could not be reached, or dropped the connection: an outage to tell the user
    about and retry later, not a bug (connection refused or reset, server shutting down, a lock
    or statement timeout)."""
    return isinstance(exc, OperationalError) or (isinstance(exc, DBAPIError) and exc.connection_invalidated)


# Hosting platforms hand out ``postgres://``; SQLAlchemy knows only ``postgresql``, and its default
# driver for it (psycopg2) is not the one installed.
POSTGRES_SCHEMES = ("postgres", "postgresql")


def normalize_url(url: str) -> str:
    """``postgres://`` and ``postgresql://`` as ``postgresql+psycopg://``; any other URL as given."""
    scheme, sep, rest = url.partition("://")
    if sep and scheme.lower() in POSTGRES_SCHEMES:
        return f"postgresql+psycopg://{rest}"
    return url


def make_engine(url: str = DEFAULT_DATABASE_URL, **kwargs: Any) -> Engine:
    """An engine tuned for concurrent writers on either backend.

    SQLite: WAL (readers never block the writer), a busy timeout, foreign keys on,
    and ``BEGIN IMMEDIATE`` so that a write transaction takes the lock at its start
    instead of failing with "database is locked" when it upgrades a read lock.
    """
    parsed = make_url(normalize_url(url))
    if parsed.get_backend_name() == "sqlite":
        connect_args = kwargs.pop("connect_args", {})
        connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)
        connect_args.setdefault("check_same_thread", False)
        engine = create_engine(parsed, connect_args=connect_args, **kwargs)
        _tune_sqlite(engine, in_memory=parsed.database in (None, "", ":memory:"))
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    connect_args = kwargs.setdefault("connect_args", {})
    if "connect_timeout" not in parsed.query:
        # psycopg waits 130 s for a server that accepts and never answers: every click and
        # /readyz would hang with it. libpq's minimum, so a click is still answered within
        # Slack's 3 s. ``?connect_timeout=`` in the URL overrides it.
        connect_args.setdefault("connect_timeout", PG_CONNECT_TIMEOUT_S)
    for name, value in PG_TCP_SETTINGS.items():
        if name not in parsed.query:
            connect_args.setdefault(name, value)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    engine = create_engine(parsed, **kwargs)
    event.listen(engine, "do_connect", _OneProbe().connect)
    return engine


class _OneProbe:
    """While the database is unreachable, one connection attempt at a time finds out whether it is
    back, at most one a second; the others fail at once. Without it every thread waits out the
    connect timeout in turn, and the clicks queued behind two such threads miss Slack's 3 s
    deadline; without the second's pause, the clicks of a failed group, re-run one by one, would
    each wait out a probe of their own."""

    def __init__(self, pause: float = PROBE_PAUSE_S, clock: Callable[[], float] = time.monotonic) -> None:
        self._probe = threading.Lock()
        self.down = False
        self._pause, self._clock = pause, clock
        self._next_probe = 0.0

    def connect(self, dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        if not self.down:
            return self._attempt(dialect, cargs, cparams)
        if self._clock() < self._next_probe or not self._probe.acquire(blocking=False):
            raise dialect.loaded_dbapi.OperationalError(
                "the database is unreachable (a connection attempt is finding out when it is back)"
            )
        try:
            return self._attempt(dialect, cargs, cparams)
        finally:
            self._probe.release()

    def _attempt(self, dialect: Any, cargs: Any, cparams: Any) -> Any:
        try:
            connection = dialect.connect(*cargs, **cparams)
        except dialect.loaded_dbapi.OperationalError:
            self.down = True
            self._next_probe = self._clock() + self._pause
            raise
        self.down = False
        return connection


def _tune_sqlite(engine: Engine, in_memory: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own is deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers take the lock up front (no deadlock upgrading a read lock); readers don't.
        # Straight to the driver: this runs once per transaction, on every label click.
        begin = "BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE"
        conn.connection.driver_connection.execute(begin)


def driver_mark(dialect: Any) -> str:
    """The placeholder of SQL handed to the driver itself: SQLite's ``?``; psycopg takes ``%s``."""
    return "?" if dialect.paramstyle == "qmark" else "%s"


def changed(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE changed: how a conditional write tells who won."""
    return int(cast(CursorResult[Any], result).rowcount)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


_WRITE_LOCKS: dict[int, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def _process_lock(factory: sessionmaker[Session]) -> threading.Lock | None:
    """One lock per SQLite engine: its transactions take turns inside this process.

    SQLite has a single writer, and a thread that loses the race for BEGIN IMMEDIATE
    sleeps in SQLite's busy handler (up to 100 ms at a time) instead of being woken
    when the lock frees; queueing on a Python lock first hands the database over at
    once. Other processes still meet the busy timeout.
    """
    bind = factory.kw.get("bind")
    if bind is None or getattr(bind, "dialect", None) is None or bind.dialect.name != "sqlite":
        return None
    with _LOCKS_GUARD:
        return _WRITE_LOCKS.setdefault(id(bind), threading.Lock())


_inside = threading.local()


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One write transaction: commits on success, rolls back on any error.

    A second ``session_scope`` inside one, in the same thread, is a bug (on SQLite it
    would wait for itself): it raises at once instead of hanging.
    """
    if getattr(_inside, "depth", 0):
        raise RuntimeError("session_scope opened inside another one in the same thread")
    lock = _process_lock(factory)
    _inside.depth = 1
    try:
        if lock is None:
            with factory() as session, session.begin():
                yield session
            return
        with lock, factory() as session, session.begin():
            yield session
    finally:
        _inside.depth = 0


@contextmanager
def read_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A read-only transaction: on SQLite a deferred BEGIN, so long reads (reports, training
    data, exports) never hold the write lock that label clicks wait for. Always rolled back."""
    with factory() as session:
        session.connection(execution_options={READ_ONLY: True})
        try:
            yield session
        finally:
            session.rollback()


def alembic_config(connection: Any = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise SchemaError("no migrations found")
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` (``labelbot db upgrade``)."""
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), revision)


def ensure_schema(engine: Engine) -> None:
    """Create a new database, or refuse one whose schema is behind this code.

    A brand-new (empty) database is migrated to head so that the quick start needs
    no extra step; an existing one is never changed behind the user's back.
    """
    head = head_revision()
    current = current_revision(engine)
    if current == head:
        return
    if current is None:
        tables = set(inspect(engine).get_table_names())
        if tables - {"alembic_version"}:
            raise SchemaError(
                f"the database at {redact_url(str(engine.url))} has tables but no labelbot schema version; "
                "point DATABASE_URL at an empty database or a labelbot one"
            )
        upgrade(engine)
        return
    script = ScriptDirectory.from_config(alembic_config())
    known = {rev.revision for rev in script.walk_revisions()}
    if current not in known:
        raise SchemaError(
            f"the database schema ({current}) is newer than this labelbot ({head}); upgrade labelbot"
        )
    raise SchemaError(
        f"the database schema is outdated ({current}, this labelbot needs {head}); "
        "run `labelbot db upgrade` to migrate it"
    )
