"""Where ``serve`` listens, its log format, and the database URL forms hosting platforms hand out."""

from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from bot.cli import app
from bot.logs import JsonFormatter
from bot.settings import Settings, SettingsError
from storage.db import make_engine, normalize_url
from tests.conftest import IS_POSTGRES


def test_host_and_port_from_the_environment():
    assert Settings.from_env({}).host is None and Settings.from_env({}).port is None
    assert Settings.from_env({"PORT": "8080"}).port == 8080  # what hosting platforms set
    both = Settings.from_env({"PORT": "8080", "LABELBOT_PORT": "9000", "LABELBOT_HOST": "0.0.0.0"})
    assert (both.host, both.port) == ("0.0.0.0", 9000)  # labelbot's own name wins


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PORT": "http"}, "PORT must be a port number from 1 to 65535"),
        ({"LABELBOT_PORT": "70000"}, "LABELBOT_PORT must be a port number from 1 to 65535"),
        ({"LABELBOT_PORT": "-1"}, "LABELBOT_PORT must be a port number"),
        ({"LABELBOT_HOST": "a host"}, "LABELBOT_HOST is not an interface"),
        ({"LABELBOT_LOG_FORMAT": "xml"}, "LABELBOT_LOG_FORMAT must be text or json"),
    ],
)
def test_bad_listening_settings_are_named(env, message):
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)


def test_serve_refuses_them_in_one_line_without_a_traceback(tmp_path):
    result = CliRunner().invoke(
        app, ["serve"], env={"LABELBOT_PORT": "eighty", "LABELBOT_CONFIG": str(tmp_path / "none.yml")}
    )
    assert result.exit_code == 2
    assert "LABELBOT_PORT must be a port number" in result.stderr and "Traceback" not in result.stderr
    for args, words in (
        (["serve", "--role", "cook"], "--role must be one of all, web, worker"),
        (["serve", "--log-format", "xml"], "--log-format must be text or json"),
    ):
        result = CliRunner().invoke(app, args, env={"LABELBOT_CONFIG": str(tmp_path / "none.yml")})
        assert result.exit_code == 2 and words in result.stderr, result.stderr


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://u:p@db:5432/x", "postgresql+psycopg://u:p@db:5432/x"),
        ("postgresql://u@db/x", "postgresql+psycopg://u@db/x"),
        ("POSTGRES://u@db/x", "postgresql+psycopg://u@db/x"),
        ("postgresql+psycopg://u@db/x", "postgresql+psycopg://u@db/x"),
        ("sqlite:///labelbot.db", "sqlite:///labelbot.db"),
    ],
)
def test_postgres_urls_name_the_installed_driver(url, expected):
    assert normalize_url(url) == expected
    assert Settings.from_env({"DATABASE_URL": url}).database_url == url  # messages show the user's URL
    engine = make_engine(url)  # no connection yet
    assert engine.url.drivername == expected.split(":", 1)[0]
    engine.dispose()


@pytest.mark.skipif(not IS_POSTGRES, reason="needs the PostgreSQL server")
def test_a_postgres_url_opens_the_database(database_url):
    engine = make_engine("postgres://" + database_url.split("://", 1)[1])  # the platforms' form
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
        assert engine.dialect.driver == "psycopg"
    finally:
        engine.dispose()


def test_json_log_lines_carry_the_ids_as_fields():
    record = logging.LogRecord("labelbot.x", logging.WARNING, __file__, 1, "item %s failed", (7,), None)
    record.item_id, record.project, record.user, record.event_id = 7, "support", "U1", "Ev1"
    line = json.loads(JsonFormatter().format(record))
    assert (
        line["message"] == "item 7 failed" and line["level"] == "warning" and line["logger"] == "labelbot.x"
    )
    assert (line["item_id"], line["project"], line["user"], line["event_id"]) == (7, "support", "U1", "Ev1")
    assert line["ts"].endswith("+00:00")
    plain = json.loads(
        JsonFormatter().format(logging.LogRecord("l", logging.INFO, __file__, 1, "hi", (), None))
    )
    assert set(plain) == {"ts", "level", "logger", "message"}
