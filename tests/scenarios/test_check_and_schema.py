"""``labelbot check`` and schema handling, as a new user meets them."""

from __future__ import annotations

import sqlite3

import pytest

from tests.conftest import IS_POSTGRES


def test_check_passes_on_a_good_setup(bot):
    result = bot.cli("check")
    assert "all checks passed" in result.stdout
    assert "bot is a member" in result.stdout and "user group S0EXPERTS: 1 member(s)" in result.stdout


def test_check_explains_not_in_channel_and_bad_token(bot, slack):
    slack.add_channel("C0OTHER", "other", members=["U0ANN1"], bot_member=False)
    bot.configure(channel="C0OTHER")
    result = bot.cli("check", check=False)
    assert result.returncode == 1
    assert "the bot is not in channel C0OTHER" in result.stdout and "/invite @labelbot" in result.stdout
    bot.configure(channel="C0MISSING")
    assert "channel_not_found" in bot.cli("check", check=False).stdout
    bot.env["SLACK_BOT_TOKEN"] = "xoxb-revoked"
    result = bot.cli("check", check=False)
    assert (
        "Slack refused SLACK_BOT_TOKEN: invalid_auth" in result.stdout and "xoxb-revoked" not in result.stdout
    )
    assert result.returncode == 4


def test_check_reports_a_bad_config(bot):
    (bot.workdir / "labelbot.yml").write_text(
        "projects:\n  - key: support\n    name: S\n    channel: C0LABELS\n    labels: [{value: a, text: A}]\n"
    )
    result = bot.cli("check", check=False)
    assert result.returncode == 2 and "project 'support' (projects[0]) → labels" in result.stdout


@pytest.mark.skipif(IS_POSTGRES, reason="edits the SQLite file directly")
def test_outdated_schema_is_refused_and_db_upgrade_fixes_it(bot, database_url):
    bot.cli("status")  # creates the database
    path = database_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TRIGGER item_events_no_update")
        conn.execute("DELETE FROM alembic_version")
        conn.execute("INSERT INTO alembic_version VALUES ('0000')")
    result = bot.cli("status", check=False)
    assert result.returncode != 0 and "newer than this labelbot" in result.stderr
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE alembic_version")
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall():
            conn.execute(f'DROP TABLE "{name}"')
    assert "empty -> 0007" in bot.cli("db", "upgrade").stdout
    assert "database: 0007; labelbot needs: 0007" in bot.cli("db", "current").stdout
