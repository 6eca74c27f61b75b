"""Shared fixtures: a fresh database per test (SQLite file, or a PostgreSQL schema), clean env.

The database is chosen by ``LABELBOT_TEST_DATABASE``: ``sqlite`` (default) or a
PostgreSQL URL; ``.ci/test`` runs the suite once with each.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from storage.db import ensure_schema, make_engine, make_session_factory

TEST_DATABASE = os.environ.get("LABELBOT_TEST_DATABASE", "sqlite")
IS_POSTGRES = TEST_DATABASE.startswith("postgresql")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing from the developer's shell leaks into a test (as in bolt-python's tests/utils.py)."""
    for name in list(os.environ):
        if name.startswith("SLACK_") or name in ("DATABASE_URL", "LABELBOT_CONFIG"):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture
def database_url(tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    if not IS_POSTGRES:
        yield f"sqlite:///{tmp_path / 'labelbot.db'}"
        return
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(
        make_url(TEST_DATABASE).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = (
        make_url(TEST_DATABASE)
        .set(drivername="postgresql+psycopg")
        .update_query_dict({"options": f"-csearch_path={schema}"})
    )
    yield url.render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def engine(database_url: str):  # type: ignore[no-untyped-def]
    engine = make_engine(database_url)
    ensure_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def factory(engine) -> sessionmaker[Session]:  # type: ignore[no-untyped-def]
    return make_session_factory(engine)
