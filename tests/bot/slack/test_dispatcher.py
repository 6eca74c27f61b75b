"""The dispatcher against the Slack emulator and a real database: pacing, failures, crash recovery."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient
from sqlalchemy import select

from bot.slack.dispatcher import Dispatcher
from bot.slack.emulator import SlackEmulator
from bot.slack.posting.items import ITEM_EVENT_TYPE
from storage.db import session_scope
from storage.models import Item, ItemEvent
from tests.bot.conftest import add_items, allow, make_config


class Crash(Exception):
    pass


@pytest.fixture
def slack():
    emu = SlackEmulator()
    emu.start()
    emu.add_channel("C0LABELS", "labeling", members=["UBOT"])
    yield emu
    emu.stop()


def dispatcher(factory, slack, config=None, **kw):
    client = WebClient(token=slack.bot_token, base_url=slack.api_url, retry_handlers=[])
    d = Dispatcher(factory, client, config or make_config(max_open=3), post_interval=0.0, backoff=0.05, **kw)
    d.sync()
    return d


def posted(slack):
    return [
        m
        for m in slack.messages("C0LABELS")
        if (m.get("metadata") or {}).get("event_type") == ITEM_EVENT_TYPE
    ]


def statuses(factory):
    with session_scope(factory) as session:
        return [
            (i.external_id, i.status, i.message_ts) for i in session.scalars(select(Item).order_by(Item.id))
        ]


def test_posts_up_to_max_open_in_import_order(factory, slack):
    ids = add_items(factory, 5, open_=False)
    dispatcher(factory, slack).run_once()
    assert [m["metadata"]["event_payload"]["item_id"] for m in posted(slack)] == ids[:3]
    rows = statuses(factory)
    assert [s for _, s, _ in rows] == ["open", "open", "open", "queued", "queued"]
    assert {ts for _, _, ts in rows[:3]} == {m["ts"] for m in posted(slack)}


def test_429_and_500_are_retried_and_nothing_is_posted_twice(factory, slack):
    add_items(factory, 2, open_=False)
    slack.fail_next("chat.postMessage", status=429, retry_after=1)
    slack.fail_next("chat.postMessage", status=500)
    slack.fail_next("chat.postMessage", status=503)
    dispatcher(factory, slack).run_once()
    assert len(posted(slack)) == 2
    assert [s for _, s, _ in statuses(factory)] == ["open", "open"]
    statuses_seen = [c.status for c in slack.calls_to("chat.postMessage")]
    assert statuses_seen[:3] == [429, 500, 503]
    # After the 5xx the dispatcher looked in the channel before retrying.
    assert slack.calls_to("conversations.history")


def test_permanent_error_pauses_without_losing_items(factory, slack):
    add_items(factory, 1, open_=False)
    slack.fail_next("chat.postMessage", status=200, error="not_in_channel")
    d = dispatcher(factory, slack)
    d.run_once()
    assert posted(slack) == [] and statuses(factory)[0][1] == "queued"
    d.poster.resume_all()  # the pause has passed
    d.run_once()
    assert len(posted(slack)) == 1


def test_crash_between_post_and_commit_is_reconciled_on_restart(factory, slack):
    ids = add_items(factory, 2, open_=False)
    first = dispatcher(factory, slack)

    def crash(_item_id):
        raise Crash

    first.items.after_post = crash
    with pytest.raises(Crash):
        first.run_once()
    assert len(posted(slack)) == 1 and statuses(factory)[0][1] == "queued"  # posted, not recorded
    restarted = dispatcher(factory, slack)
    restarted.run_once()
    messages = posted(slack)
    assert len(messages) == 2  # the first item was adopted, not posted again
    rows = statuses(factory)
    assert rows[0][1] == "open" and rows[0][2] == messages[0]["ts"]
    with session_scope(factory) as session:
        adopted = session.scalar(
            select(ItemEvent).where(ItemEvent.item_id == ids[0], ItemEvent.action == "posted")
        )
        assert adopted.detail["adopted"] is True


def test_two_dispatchers_never_double_post(factory, slack):
    add_items(factory, 3, open_=False)
    one, two = dispatcher(factory, slack), dispatcher(factory, slack)
    one.run_once()
    two.run_once()
    assert len(posted(slack)) == 3


def test_progress_updates_are_coalesced(factory, slack):
    from bot.labeling import record_label
    from bot.refs import ItemRef

    config = make_config(max_open=3)
    project = config.projects[0]
    (item_id,) = add_items(factory, 1, open_=False)
    d = dispatcher(factory, slack, config)
    d.run_once()
    for user in ("U1", "U2"):
        with session_scope(factory) as session:
            record_label(session, allow(project, user), ItemRef(item_id, 1), "bug")
    d.run_once()
    assert len(slack.calls_to("chat.update")) == 1  # two labels, one update
    assert "2 of 3 labels" in str(slack.messages("C0LABELS")[0]["blocks"])
    d.run_once()
    assert len(slack.calls_to("chat.update")) == 1  # nothing stale: no call


def test_posts_in_the_model_ranking_then_unranked_items_in_import_order(factory, slack):
    from bot.model.scoring import store_ranks

    ids = add_items(factory, 6, open_=False)
    config = make_config(max_open=3, model={"explore": 0})
    d = dispatcher(factory, slack, config)
    pid = d.project_ids["support"]
    # Items 2, 5, 1, 4 were ranked (item 4 last); 3 and 6 arrived after the scoring.
    store_ranks(factory, pid, [ids[1], ids[4], ids[0], ids[3]], [2, 5, 1, 4], [0.9, 0.8, 0.3, 0.1])
    d.run_once()
    assert [m["metadata"]["event_payload"]["item_id"] for m in posted(slack)] == [ids[1], ids[4], ids[0]]
    with session_scope(factory) as session:
        for item in session.scalars(select(Item).where(Item.status == "open")):
            item.status = "resolved"
    d.run_once()
    assert [m["metadata"]["event_payload"]["item_id"] for m in posted(slack)][3:] == [ids[3], ids[2], ids[5]]


def test_exploration_draws_queued_items_at_random_instead_of_the_ranking(factory, slack):
    from bot.model.scoring import store_ranks

    ids = add_items(factory, 40, open_=False)
    d = dispatcher(factory, slack, make_config(max_open=10, model={"explore": 1.0}))
    pid = d.project_ids["support"]
    store_ranks(factory, pid, ids, [int(i) for i in ids], [1.0 - k / 100 for k in range(40)])
    d.run_once()
    chosen = [m["metadata"]["event_payload"]["item_id"] for m in posted(slack)]
    assert len(chosen) == len(set(chosen)) == 10 and set(chosen) <= set(ids)
    # The ranking's first ten, in its order, by chance: 1 in 40!/30! (about 3e15).
    assert chosen != ids[:10]
    assert [s for _, s, _ in statuses(factory)].count("open") == 10


def test_without_a_ranking_exploration_keeps_import_order(factory, slack):
    ids = add_items(factory, 6, open_=False)
    d = dispatcher(factory, slack, make_config(max_open=3, model={"explore": 1.0}))
    d.run_once()
    assert [m["metadata"]["event_payload"]["item_id"] for m in posted(slack)] == ids[:3]
