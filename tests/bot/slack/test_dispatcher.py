"""The dispatcher against the Slack emulator and a real database: pacing, failures, crash recovery."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient
from sqlalchemy import select

from bot.config import Config
from bot.slack.dispatcher import Dispatcher
from bot.slack.emulator import SlackEmulator
from bot.slack.posting.items import ITEM_EVENT_TYPE
from storage.db import session_scope
from storage.models import Item, ItemEvent
from tests.app_manifest import BOT_SCOPES
from tests.bot.conftest import add_items, allow, make_config


class Crash(Exception):
    pass


@pytest.fixture
def slack():
    emu = SlackEmulator(bot_scopes=BOT_SCOPES)  # what manifest.yml asks for, nothing more
    emu.set_rate_limits("off")  # the dispatcher runs on a test clock; 429s here are the tests' own
    emu.start()
    emu.add_channel("C0LABELS", "labeling", members=["UBOT"])
    yield emu
    emu.stop()


class Clock:
    """The dispatcher's monotonic clock, moved by the test: no test waits on real time."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def dispatcher(factory, slack, config=None, **kw):
    client = WebClient(token=slack.bot_token, base_url=slack.api_url, retry_handlers=[])
    clock = kw.pop("clock", None) or Clock()
    d = Dispatcher(factory, client, config or make_config(max_open=3), clock=clock, **kw)
    d.clock = clock
    d.sync()
    return d


def drain(d, seconds=30.0, on_round=None):
    """Run rounds for ``seconds`` of the dispatcher's time, moving its clock to each next due step."""
    end = d.clock.t + seconds
    while d.clock.t < end:
        done = d.run_once()
        if on_round is not None:
            on_round()
        if not done.worked:
            d.clock.advance(done.wait)


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
    drain(dispatcher(factory, slack))
    assert [m["metadata"]["event_payload"]["item_id"] for m in posted(slack)] == ids[:3]
    rows = statuses(factory)
    assert [s for _, s, _ in rows] == ["open", "open", "open", "queued", "queued"]
    assert {ts for _, _, ts in rows[:3]} == {m["ts"] for m in posted(slack)}


def test_429_and_500_are_retried_and_nothing_is_posted_twice(factory, slack):
    add_items(factory, 2, open_=False)
    slack.fail_next("chat.postMessage", status=429, retry_after=1)
    slack.fail_next("chat.postMessage", status=500)
    slack.fail_next("chat.postMessage", status=503)
    drain(dispatcher(factory, slack))
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
    drain(d)
    assert posted(slack) == [] and statuses(factory)[0][1] == "queued"
    d.poster.resume_all()  # the pause has passed
    drain(d)
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
    drain(restarted)
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
    drain(one)
    drain(two)
    assert len(posted(slack)) == 3


def test_progress_updates_are_coalesced(factory, slack):
    from bot.labeling import record_label
    from bot.refs import ItemRef

    config = make_config(max_open=3)
    project = config.projects[0]
    (item_id,) = add_items(factory, 1, open_=False)
    d = dispatcher(factory, slack, config)
    drain(d)
    for user in ("U1", "U2"):
        with session_scope(factory) as session:
            record_label(session, allow(project, user), ItemRef(item_id, 1), "bug")
    drain(d)
    assert len(slack.calls_to("chat.update")) == 1  # two labels, one update
    assert "2 of 3 labels" in str(slack.messages("C0LABELS")[0]["blocks"])
    drain(d)
    assert len(slack.calls_to("chat.update")) == 1  # nothing stale: no call


def test_posts_in_the_model_ranking_then_unranked_items_in_import_order(factory, slack):
    from bot.model.scoring import store_ranks

    ids = add_items(factory, 6, open_=False)
    config = make_config(max_open=3, model={"explore": 0})
    d = dispatcher(factory, slack, config)
    pid = d.project_ids["support"]
    # Items 2, 5, 1, 4 were ranked (item 4 last); 3 and 6 arrived after the scoring.
    store_ranks(factory, pid, [ids[1], ids[4], ids[0], ids[3]], [2, 5, 1, 4], [0.9, 0.8, 0.3, 0.1])
    drain(d)
    assert [m["metadata"]["event_payload"]["item_id"] for m in posted(slack)] == [ids[1], ids[4], ids[0]]
    with session_scope(factory) as session:
        for item in session.scalars(select(Item).where(Item.status == "open")):
            item.status = "resolved"
    drain(d)
    assert [m["metadata"]["event_payload"]["item_id"] for m in posted(slack)][3:] == [ids[3], ids[2], ids[5]]


def test_exploration_draws_queued_items_at_random_instead_of_the_ranking(factory, slack):
    from bot.model.scoring import store_ranks

    ids = add_items(factory, 40, open_=False)
    d = dispatcher(factory, slack, make_config(max_open=10, model={"explore": 1.0}))
    pid = d.project_ids["support"]
    store_ranks(factory, pid, ids, [int(i) for i in ids], [1.0 - k / 100 for k in range(40)])
    drain(d)
    chosen = [m["metadata"]["event_payload"]["item_id"] for m in posted(slack)]
    assert len(chosen) == len(set(chosen)) == 10 and set(chosen) <= set(ids)
    # The ranking's first ten, in its order, by chance: 1 in 40!/30! (about 3e15).
    assert chosen != ids[:10]
    assert [s for _, s, _ in statuses(factory)].count("open") == 10


def test_without_a_ranking_exploration_keeps_import_order(factory, slack):
    ids = add_items(factory, 6, open_=False)
    d = dispatcher(factory, slack, make_config(max_open=3, model={"explore": 1.0}))
    drain(d)
    assert [m["metadata"]["event_payload"]["item_id"] for m in posted(slack)] == ids[:3]


# -- fairness: no kind of work starves another ------------------------------------------------------
def close_open_items(factory, project):
    """Label every open item to a close at once: items close as fast as they are posted. Even
    items agree (resolved: the message needs a refresh), odd ones disagree (escalated: a thread
    post too)."""
    from bot.labeling import record_label
    from bot.refs import ItemRef

    with session_scope(factory) as session:
        open_items = session.scalars(select(Item).where(Item.status == "open").order_by(Item.id)).all()
        refs = [(ItemRef(i.id, i.round), i.id % 2) for i in open_items]
    for ref, odd in refs:
        for user, label in zip(
            ("U1", "U2", "U3"), ("billing", "bug", "other") if odd else ("bug",) * 3, strict=True
        ):
            with session_scope(factory) as session:
                record_label(session, allow(project, user), ref, label)


def test_refreshes_and_thread_posts_are_served_before_the_next_new_item(factory, slack):
    config = make_config(max_open=1)
    ids = add_items(factory, 8, open_=False)
    d = dispatcher(factory, slack, config)
    drain(d, 60, on_round=lambda: close_open_items(factory, config.projects[0]))
    by_item = {m["ts"]: m["metadata"]["event_payload"]["item_id"] for m in posted(slack)}
    assert sorted(by_item.values()) == ids
    # The calls in order: a new item (n), its refresh (u) and, when escalated, its thread post (t).
    calls = []
    for call in slack.calls:
        if call.method == "chat.update":
            calls.append(("u", by_item[call.params["ts"]]))
        elif call.method == "chat.postMessage" and call.status == 200:
            parent = call.params.get("thread_ts")
            calls.append(("t", by_item[parent]) if parent else ("n", by_item[call.response["ts"]]))
    news = [i for i, (kind, _) in enumerate(calls) if kind == "n"]
    for item_id, (start, end) in zip(ids, zip(news, [*news[1:], len(calls)], strict=True), strict=True):
        served = {c for c in calls[start + 1 : end]}
        expected = {("u", item_id)} | ({("t", item_id)} if item_id % 2 else set())
        assert served == expected, f"before the item after {item_id}: {calls[start + 1 : end]}"


def test_one_project_does_not_starve_another(factory, slack):
    slack.add_channel("C0OTHER", "other", members=["UBOT"])
    support = make_config(max_open=50).projects[0]
    other = support.model_copy(update={"key": "other", "name": "Other", "channel": "C0OTHER"})
    config = Config(projects=[support, other])
    d = dispatcher(factory, slack, config)  # creates the second project's row
    add_items(factory, 20, open_=False)
    add_items(factory, 2, key="other", open_=False)
    d.run_once()
    assert sorted(c.params["channel"] for c in slack.calls_to("chat.postMessage")) == ["C0LABELS", "C0OTHER"]


def test_transient_errors_back_off_and_resume_as_soon_as_slack_answers(factory, slack):
    """429s wait their Retry-After; 5xx wait 0.5 s doubling up to 3 s (never less than the channel's
    1 s pacing); no pause, no second copy, and the first try after the failures posts."""
    add_items(factory, 1, open_=False)
    d = dispatcher(factory, slack)
    slack.fail_next("chat.postMessage", status=429, retry_after=7, times=2)
    slack.fail_next("chat.postMessage", status=500, times=5)
    start, tries = d.clock.t, []
    while not posted(slack):
        assert d.clock.t - start < 60
        done = d.run_once()
        if len(slack.calls_to("chat.postMessage")) > len(tries):
            tries.append(d.clock.t - start)
        assert not d.poster.paused("support")
        if not done.worked:
            d.clock.advance(done.wait)
    assert tries == [0, 7, 14, 15, 16, 18, 21, 24]
    assert [c.status for c in slack.calls_to("chat.postMessage")] == [429, 429, *[500] * 5, 200]
    assert len(posted(slack)) == 1 and statuses(factory)[0][1] == "open"
    # an ambiguous failure may have posted: every try after one looked in the channel first
    assert len(slack.calls_to("conversations.history")) >= 5


def test_an_unreadable_history_is_not_taken_for_not_posted(factory, slack):
    add_items(factory, 1, open_=False)
    d = dispatcher(factory, slack)
    slack.fail_next("chat.postMessage", status=500)  # ambiguous: look before posting again
    slack.fail_next("conversations.history", status=503, times=3)
    drain(d, 30)
    assert [c.status for c in slack.calls_to("chat.postMessage")] == [500, 200]
    assert [c.status for c in slack.calls_to("conversations.history")][:3] == [503] * 3
    assert len(posted(slack)) == 1


def test_a_channel_that_backs_off_does_not_hold_up_other_work(factory, slack):
    """While one project's channel answers 429, the other project posts, and the first project's
    refreshes (chat.update) go on."""
    slack.add_channel("C0OTHER", "other", members=["UBOT"])
    support = make_config(max_open=5).projects[0]
    other = support.model_copy(update={"key": "other", "name": "Other", "channel": "C0OTHER"})
    d = dispatcher(factory, slack, Config(projects=[support, other]))
    (stale,) = add_items(factory, 1)  # open already, its message to refresh
    with session_scope(factory) as session:
        session.get(Item, stale).message_dirty = True
        session.get(Item, stale).external_id = "stale"
    add_items(factory, 1, open_=False)  # support's queued item (the project visited first)
    add_items(factory, 3, key="other", open_=False)
    slack.fail_next("chat.postMessage", status=429, retry_after=30)  # support's first try meets it
    drain(d, 5)
    posts = [(c.params["channel"], c.status) for c in slack.calls_to("chat.postMessage")]
    assert posts == [("C0LABELS", 429), ("C0OTHER", 200), ("C0OTHER", 200), ("C0OTHER", 200)]
    assert len(slack.calls_to("chat.update")) == 1
