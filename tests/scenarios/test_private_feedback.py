"""Feedback in private, names not IDs: the digest job through the real bot and the emulator.

The public digest shows counts and project figures only. Annotators below the project's gold bar
get their own figures by DM; admins get the list, by name. Exactly once per digest period: a
second run, a restart, or a run taking over a crashed one sends nothing twice. The CLI's tables
show display names from Slack (``--ids``: the IDs), and IDs with one warning when Slack is out
of reach.
"""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest
from slack_sdk import WebClient
from sqlalchemy import select, update

from bot.config import DigestConfig
from bot.digest import due_period
from bot.slack.emulator import SlackEmulator
from storage.db import make_engine, make_session_factory, session_scope
from storage.models import Digest, DigestStatus, utcnow
from tests.scenarios.conftest import Bot

DIGEST_CHANNEL = "C0DIGEST"
SCHEDULE = "0 9 * * mon"
NAMES = {"U0ANN1": "ann.one", "U0ANN2": "ann.two", "U0ANN3": "ann.three", "U0ADMIN": "ada.admin"}
# Gold items: g-0..g-5 are billing, g-6..g-9 bug.
GOLD = {f"g-{i}": "billing" if i < 6 else "bug" for i in range(10)}
ANSWERS = {
    # 4 of 10: billing → other 4×, bug → billing 2×
    "U0ANN1": {
        **GOLD,
        "g-0": "other",
        "g-1": "other",
        "g-2": "other",
        "g-3": "other",
        "g-6": "billing",
        "g-7": "billing",
    },
    "U0ANN2": dict(GOLD),  # 10 of 10
    "U0ANN3": {**GOLD, "g-9": "other"},  # 9 of 10
}


def name_people(slack: SlackEmulator) -> None:
    for user, name in NAMES.items():
        slack.add_user(user, name, real_name=name.title())


def with_period_data(bot: Bot, slack: SlackEmulator, **overrides: Any) -> None:
    """Gold items and last period's answers (labelled a day into the period now due)."""
    slack.add_channel(DIGEST_CHANNEL, "quality", members=["U0ANN1"])
    name_people(slack)
    bot.configure(digest={"channel": DIGEST_CHANNEL, "schedule": SCHEDULE, "timezone": "UTC"}, **overrides)
    due = due_period(DigestConfig(channel=DIGEST_CHANNEL, schedule=SCHEDULE), datetime.now(UTC))
    assert due is not None
    at = (due.start + timedelta(days=1)).isoformat()
    bot.import_items(
        [{"id": i, "text": f"ticket {i}", "gold": g} for i, g in GOLD.items()], "--gold-field", "gold"
    )
    labels = [
        {"item_id": item, "user_id": user, "label": label, "created_at": at}
        for user, answers in ANSWERS.items()
        for item, label in answers.items()
    ]
    path = bot.workdir / "labels.csv"
    pd.DataFrame(labels).to_csv(path, index=False)
    bot.cli("import", "support", str(path), "--labels")


def digests(slack: SlackEmulator) -> list[dict[str, Any]]:
    return [m for m in slack.messages(DIGEST_CHANNEL) if "Quality digest" in m.get("text", "")]


def everything(message: dict[str, Any]) -> str:
    return json.dumps(message, ensure_ascii=False)


def run_digest_job(bot: Bot) -> int:
    """The scheduled job once more, in the serving process (as the scheduler runs it each minute)."""
    served: Any = bot._served  # type: ignore[attr-defined]
    return int(served.runtime.digests.post_due())


def test_digest_is_public_figures_feedback_is_private_and_sent_once(bot, slack, database_url):
    with_period_data(bot, slack, experts={"default": ["U0EXPERT"], "admins": ["U0ADMIN", "S0EXPERTS"]})
    bot.start()
    (digest,) = slack.wait_for(lambda: digests(slack), timeout=30)
    public = everything(digest)
    # No one's figures, mention or name; counts and project figures.
    for user, name in NAMES.items():
        assert user.lower() not in public.lower() and name not in public
    assert "<@" not in public and "40%" not in public
    assert "Gold accuracy" in public and "77%" in public and "Annotators" in public

    (mine,) = slack.wait_for(lambda: slack.dms("U0ANN1"), timeout=20)
    text = everything(mine)
    assert (
        "40%" in text and "10 answers" in text and "77%" in text and "80%" in text
    )  # theirs, the project's, the bar
    assert (
        "expected *Billing*, you chose *Other*: 4×" in text
        and "expected *Bug*, you chose *Billing*: 2×" in text
    )
    assert "Guidelines" in text
    assert mine["metadata"]["event_type"] == "labelbot_feedback"
    assert slack.dms("U0ANN2") == [] and slack.dms("U0ANN3") == []  # above the bar: nothing

    for admin in ("U0ADMIN", "U0GRPMEM"):  # the admins, the user group's members included
        (listing,) = slack.wait_for(lambda a=admin: slack.dms(a), timeout=20)
        text = everything(listing)
        assert "ann.one: 40% (10 answers)" in text and "U0ANN1" not in text
        assert "ann.three" not in text and "ann.two" not in text

    # The job again, a restart: the period is posted, nothing goes twice.
    assert run_digest_job(bot) == 0
    bot.stop()
    bot.start()
    assert len(digests(slack)) == 1
    assert [len(slack.dms(u)) for u in ("U0ANN1", "U0ADMIN", "U0GRPMEM")] == [1, 1, 1]

    # A run that stopped after posting the digest and one DM: the next run sends only the rest.
    client = WebClient(token=slack.bot_token, base_url=slack.api_url)
    client.chat_delete(channel=slack.dm_channel("U0ADMIN"), ts=slack.dms("U0ADMIN")[0]["ts"])
    engine = make_engine(database_url)
    with session_scope(make_session_factory(engine)) as session:
        session.execute(
            update(Digest).values(
                status=DigestStatus.CLAIMED, message_ts=None, claimed_at=utcnow() - timedelta(days=1)
            )
        )
    assert run_digest_job(bot) == 1
    with session_scope(make_session_factory(engine)) as session:
        row = session.scalars(select(Digest)).one()
        assert row.status == DigestStatus.POSTED and row.message_ts == digest["ts"]
    engine.dispose()
    assert len(digests(slack)) == 1
    assert [len(slack.dms(u)) for u in ("U0ANN1", "U0ADMIN", "U0GRPMEM")] == [1, 1, 1]
    assert "private feedback for support: 1 sent, 0 not sent, 2 sent before" in bot.log()


def test_one_person_who_cannot_be_reached_does_not_stop_the_others(bot, slack):
    with_period_data(bot, slack, experts={"default": ["U0EXPERT"], "admins": ["U0ADMIN", "U0FIN"]})
    slack.deactivate_user("U0ADMIN")  # the first admin: conversations.open answers user_disabled
    bot.start()
    slack.wait_for(lambda: digests(slack), timeout=30)
    slack.wait_for(lambda: slack.dms("U0FIN"), timeout=20)
    assert len(slack.dms("U0ANN1")) == 1 and slack.dms("U0ADMIN") == []
    log = bot.log()
    assert "private feedback for project support not sent to U0ADMIN: user_disabled" in log
    assert "1 not sent" in log
    assert slack.bot_token not in log and "ann.one: 40%" not in log  # no token, no message bodies


def test_everyone_above_the_bar_means_no_direct_message(bot, slack):
    with_period_data(bot, slack, quality={"min_gold_accuracy": 0.4})  # 40% is not below 40%
    bot.start()
    slack.wait_for(lambda: digests(slack), timeout=30)
    assert not slack.calls_to("conversations.open")
    assert all(not slack.dms(u) for u in ("U0ANN1", "U0ANN2", "U0ANN3", "U0ADMIN"))


# -- names, not IDs, in the CLI's tables ----------------------------------------------------------
def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/api/"


@pytest.fixture
def labelled(bot, slack):
    with_period_data(bot, slack)
    slack.clear_calls()
    return bot


def test_cli_tables_show_display_names_looked_up_once_each(labelled, slack):
    status = labelled.cli("status", "support").stdout
    assert all(name in status for name in ("ann.one", "ann.two", "ann.three"))
    assert "U0ANN" not in status
    assert sorted(c.params["user"] for c in slack.calls_to("users.info")) == ["U0ANN1", "U0ANN2", "U0ANN3"]
    quality = labelled.cli("quality", "support").stdout
    assert "ann.one" in quality and "U0ANN1" not in quality
    slack.clear_calls()
    history = labelled.cli("history", "support", "g-0").stdout  # three answers, three actors
    assert "ann.one" in history and "ann.two" in history and "U0ANN" not in history
    assert len(slack.calls_to("users.info")) == 3


def test_cli_ids_flag_and_exports_keep_ids(labelled, slack, tmp_path):
    for command in (["status", "support"], ["quality", "support"], ["history", "support", "g-0"]):
        out = labelled.cli(*command, "--ids").stdout
        assert "U0ANN1" in out and "ann.one" not in out
    assert not slack.calls_to("users.info")
    assert "ann.one" not in labelled.cli("quality", "support", "--json").stdout  # JSON keeps IDs
    labelled.cli("export", "support", "--labels", "-o", str(tmp_path / "labels.csv"))
    exported = (tmp_path / "labels.csv").read_text()
    assert "U0ANN1" in exported and "ann.one" not in exported


def test_cli_with_slack_out_of_reach_shows_ids_and_warns_once(labelled, slack):
    labelled.env["SLACK_API_URL"] = closed_port_url()
    result = labelled.cli("status", "support")
    assert result.returncode == 0
    assert "U0ANN1" in result.stdout and "U0ANN2" in result.stdout and "U0ANN3" in result.stdout
    warnings = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(warnings) == 1 and warnings[0].startswith("warning: showing Slack IDs, not names")
    assert slack.bot_token not in result.stderr


def test_cli_without_users_read_scope_shows_ids_and_names_the_scope(labelled, slack):
    slack.set_scopes(bot=[s for s in slack.bot_scopes if s != "users:read"])
    result = labelled.cli("status", "support")
    assert "U0ANN1" in result.stdout and "needed: users:read" in result.stderr
    assert len(slack.calls_to("users.info")) == 1  # one refusal, then no more tries
