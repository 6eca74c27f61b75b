"""Shared fixtures: databases and a clean environment.

The database is chosen by ``LABELBOT_TEST_DATABASE``: ``sqlite`` (default) or a PostgreSQL
URL; ``.ci/test`` runs the suite once with each. The schema is migrated once per test session:

- ``factory`` (most domain tests): sessions joined to an outer transaction on one shared,
  migrated database, rolled back after the test (``join_transaction_mode="create_savepoint"``:
  each ``session_scope`` is a savepoint). Fast, and nothing leaks between tests; only for code
  that uses the test's connection, in the test's thread.
- ``database_url`` / ``engine`` / ``committing_factory``: a database of its own, copied from the
  migrated template (a SQLite file copy; PostgreSQL ``CREATE DATABASE … TEMPLATE``), for code
  that commits on its own connections (group commit, writer threads, subprocesses, the CLI).
- ``empty_database_url``: nothing in it, for tests of schema creation and migrations.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from storage.db import ensure_schema, make_engine, make_session_factory

TEST_DATABASE = os.environ.get("LABELBOT_TEST_DATABASE", "sqlite")
IS_POSTGRES = TEST_DATABASE.startswith("postgresql")
RUN = uuid.uuid4().hex[:8]  # this session's databases, so that two sessions never share one


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing from the developer's shell leaks into a test (as in bolt-python's tests/utils.py)."""
    for name in list(os.environ):
        if name.startswith("SLACK_") or name in ("DATABASE_URL", "LABELBOT_CONFIG", "LABELBOT_MODELS_DIR"):
            monkeypatch.delenv(name, raising=False)


# -- PostgreSQL: databases made by the test session -----------------------------------------------
def _pg_url(database: str | None = None) -> str:
    url = make_url(TEST_DATABASE).set(drivername="postgresql+psycopg")
    return (url.set(database=database) if database else url).render_as_string(hide_password=False)


def _pg_admin() -> Engine:
    return create_engine(_pg_url(), isolation_level="AUTOCOMMIT")


def _pg_create(name: str, template: str | None = None) -> str:
    with _pg_admin().connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    return _pg_url(name)


def _pg_drop(name: str) -> None:
    with _pg_admin().connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# -- the migrated template --------------------------------------------------------------------------
@pytest.fixture(scope="session")
def _template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database to copy: a SQLite file's path, or a PostgreSQL database's name."""
    if not IS_POSTGRES:
        path = tmp_path_factory.mktemp("template") / "labelbot.db"
        engine = make_engine(f"sqlite:///{path}")
        ensure_schema(engine)
        engine.dispose()
        yield str(path)
        return
    name = f"labelbot_template_{RUN}"
    engine = make_engine(_pg_create(name))
    ensure_schema(engine)
    engine.dispose()  # CREATE DATABASE … TEMPLATE needs the template free of connections
    yield name
    _pg_drop(name)


def _copy(template: str, directory: Path) -> tuple[str, str | None]:
    """A fresh copy of the template: (its URL, the PostgreSQL database to drop afterwards)."""
    if not IS_POSTGRES:
        path = directory / "labelbot.db"
        shutil.copyfile(template, path)
        return f"sqlite:///{path}", None
    name = f"labelbot_{RUN}_{uuid.uuid4().hex[:8]}"
    return _pg_create(name, template=template), name


@pytest.fixture
def database_url(_template: str, tmp_path: Path) -> Iterator[str]:
    """A migrated database of this test's own."""
    url, name = _copy(_template, tmp_path)
    yield url
    if name:
        _pg_drop(name)


@pytest.fixture
def empty_database_url(tmp_path: Path) -> Iterator[str]:
    """An empty database (no labelbot schema yet)."""
    if not IS_POSTGRES:
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    name = f"labelbot_{RUN}_empty_{uuid.uuid4().hex[:8]}"
    yield _pg_create(name)
    _pg_drop(name)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    ensure_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def committing_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions on a database of the test's own, committing for real."""
    return make_session_factory(engine)


# -- rolled back after each test ----------------------------------------------------------------------
@pytest.fixture(scope="session")
def _shared_engine(_template: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    url, name = _copy(_template, tmp_path_factory.mktemp("shared"))
    engine = make_engine(url)
    yield engine
    engine.dispose()
    if name:
        _pg_drop(name)


@pytest.fixture
def _outer(_shared_engine: Engine) -> Iterator[Connection]:
    with _shared_engine.connect() as connection:
        transaction = connection.begin()
        yield connection
        transaction.rollback()


@pytest.fixture
def factory(_outer: Connection) -> sessionmaker[Session]:
    """Sessions inside the test's outer transaction: each ``session_scope`` is a savepoint, and
    the whole test is rolled back."""
    return sessionmaker(bind=_outer, expire_on_commit=False, join_transaction_mode="create_savepoint")
