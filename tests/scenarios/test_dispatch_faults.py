"""Dispatch through the running bot when Slack fails, and after a crash mid-post."""

from __future__ import annotations

from datetime import UTC, datetime

from slack_sdk import WebClient
from sqlalchemy import update

from storage.db import make_engine, make_session_factory, session_scope
from storage.models import Item
from tests.scenarios.conftest import CHANNEL, item_messages, message_text, wait_items

ITEMS = [{"id": f"f-{i}", "text": f"text {i}", "language": "en"} for i in range(3)]


def test_429_and_500_during_dispatch_post_each_item_once(bot, slack):
    bot.import_items(ITEMS)
    slack.fail_next("chat.postMessage", status=429, retry_after=1)
    slack.fail_next("chat.postMessage", status=500)
    bot.start()
    messages = wait_items(slack, 3, timeout=60)
    ids = [m["metadata"]["event_payload"]["item_id"] for m in messages]
    assert sorted(ids) == [1, 2, 3] and len(item_messages(slack)) == 3
    assert [c.status for c in slack.calls_to("chat.postMessage")][:2] == [429, 500]


def test_restart_after_a_post_that_was_never_recorded(bot, slack, database_url):
    """The state a crash between chat.postMessage and the commit leaves: claimed, posted, still queued."""
    bot.import_items(ITEMS[:1])
    engine = make_engine(database_url)
    with session_scope(make_session_factory(engine)) as session:
        session.execute(update(Item).values(post_attempted_at=datetime.now(UTC)))
    engine.dispose()
    client = WebClient(token=slack.bot_token, base_url=slack.api_url)
    orphan = client.chat_postMessage(
        channel=CHANNEL,
        text="item",
        blocks=[],
        metadata={
            "event_type": "labelbot_item",
            "event_payload": {"item_id": 1, "round": 1, "project": "support"},
        },
    )
    bot.start()
    slack.wait_for(lambda: "adopted=True" in bot.cli("history", "support", "f-0").stdout, timeout=30)
    assert [m["ts"] for m in item_messages(slack)] == [orphan["ts"]]  # adopted, not posted again


def test_a_killed_server_loses_no_acknowledged_label_and_posts_nothing_twice(process_bot, slack):
    bot = process_bot
    bot.import_items(ITEMS)
    bot.start()
    first = wait_items(slack, 3)[0]
    for user in ("U0ANN1", "U0ANN2"):
        assert slack.click(user, CHANNEL, first["ts"], "label:billing").status == 200
    bot.stop(kill=True)  # SIGKILL: no shutdown of any kind
    bot.start()
    assert slack.click("U0ANN3", CHANNEL, first["ts"], "label:bug").status == 200
    slack.wait_for(
        lambda: "Labeled *Billing*" in message_text(slack.message(CHANNEL, first["ts"])), timeout=20
    )
    assert len(item_messages(slack)) == 3  # every item posted once, across the kill
    assert "label" in bot.cli("history", "support", "f-0").stdout
