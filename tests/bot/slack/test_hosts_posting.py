"""One poster per channel across hosts: two dispatchers (two hosts' worth of locks) on one database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from slack_sdk import WebClient
from sqlalchemy import select

from bot.config import Config
from bot.slack.posting.poster import SlackPoster
from bot.slack.posting.reminders import ReminderPoster
from bot.slack.posting.sessions import SESSIONS_LOCK
from storage.advisory import AdvisoryLocks
from storage.db import make_engine, make_session_factory, session_scope
from storage.models import Escalation, Item, ItemEvent
from tests.bot.conftest import add_items, make_config
from tests.bot.slack.test_dispatcher import Clock, dispatcher, drain, posted, slack  # noqa: F401
from tests.bot.test_escalation import disagree


@pytest.fixture
def hosts(committing_factory, database_url):
    """Two dispatchers as two worker hosts run them: each with its own engine, so its own locks."""
    if committing_factory.kw["bind"].dialect.name != "postgresql":
        pytest.skip(
            "one poster per channel across hosts needs PostgreSQL's advisory locks (SQLite is one host)"
        )
    other = make_engine(database_url)
    yield committing_factory, make_session_factory(other)
    other.dispose()


def test_only_the_holder_of_a_channels_lock_posts_to_it(hosts, slack):  # noqa: F811
    first_factory, second_factory = hosts
    add_items(first_factory, 6, open_=False)
    config = make_config(max_open=10)
    one, two = dispatcher(first_factory, slack, config), dispatcher(second_factory, slack, config)
    by: list[tuple[str, int]] = []
    one.items.after_post = lambda item_id: by.append(("one", item_id))
    two.items.after_post = lambda item_id: by.append(("two", item_id))
    for _ in range(12):  # interleaved rounds, as two processes run them
        for d in (one, two):
            if not d.run_once().worked:
                d.clock.advance(1.0)
    assert {who for who, _ in by} == {"one"}  # the first round took the lock: it posts them all
    assert not two.poster.ready("C0LABELS") and not two.locks.hold(SESSIONS_LOCK)
    assert len(posted(slack)) == 6 and len({m["ts"] for m in posted(slack)}) == 6
    one.stop()  # the holder stops (or dies): its connection goes and the lock with it
    add_items(first_factory, 8, open_=False)  # upsert: items 6 and 7 are new
    taken = two.run_once()  # takes the channel, and waits a post interval: one's last post may be recent
    assert two.poster.owns("C0LABELS") and not taken.worked and taken.wait == pytest.approx(1.0)
    assert len(posted(slack)) == 6
    drain(two, seconds=5)
    assert ("two", by[-1][1]) == by[-1] and len(posted(slack)) == 8
    with session_scope(first_factory) as session:
        assert sorted(
            session.scalars(select(ItemEvent.item_id).where(ItemEvent.action == "posted"))
        ) == sorted(
            m["metadata"]["event_payload"]["item_id"] for m in posted(slack)
        )  # each item posted once: one "posted" event and one message each
    two.stop()


def test_an_audit_channel_is_paced_by_its_own_lock(hosts, slack):  # noqa: F811
    client = WebClient(token=slack.bot_token, base_url=slack.api_url)
    locks = [AdvisoryLocks(f.kw["bind"]) for f in hosts]
    posters = [SlackPoster(client, owns=lambda c, lk=lk: lk.hold(f"channel:{c}")) for lk in locks]
    assert posters[0].ready("C0AUDIT") and not posters[1].ready("C0AUDIT")
    assert posters[1].ready("C0OTHER")
    for lk in locks:
        lk.close()


class _Poster(SlackPoster):
    def __init__(self, client: WebClient, mine: bool) -> None:
        super().__init__(client, owns=lambda channel: mine)


def _due_reminder(factory, project, client: WebClient) -> tuple[int, timedelta, str]:
    """An escalation whose thread is posted, under an item message that Slack has."""
    parent = str(client.chat_postMessage(channel="C0LABELS", text="item")["ts"])
    (item_id,) = add_items(factory, 1)
    esc_id = disagree(factory, project, item_id)
    with session_scope(factory) as session:
        session.get(Escalation, esc_id).thread_ts = parent
        session.get(Item, item_id).message_ts = parent
    return esc_id, timedelta(hours=25), parent


def test_reminders_are_sent_by_the_channels_poster_only(committing_factory, slack):  # noqa: F811
    """On every database: a host that does not post to the channel neither claims nor sends."""
    config: Config = make_config()
    project = config.projects[0]
    client = WebClient(token=slack.bot_token, base_url=slack.api_url, retry_handlers=[])
    esc_id, later, parent = _due_reminder(committing_factory, project, client)
    with session_scope(committing_factory) as session:
        pid = session.get(Escalation, esc_id).item_id
        pid = session.get(Item, pid).project_id
        created = session.get(Escalation, esc_id).created_at
    ids = {project.key: pid}
    elsewhere = ReminderPoster(
        _Poster(client, mine=False), committing_factory, config, ids, now=lambda: created + later
    )
    holder = ReminderPoster(
        _Poster(client, mine=True), committing_factory, config, ids, now=lambda: created + later
    )
    assert elsewhere.send_due() == 0
    with session_scope(committing_factory) as session:
        assert session.get(Escalation, esc_id).reminded_at is None  # not even claimed
    assert len(slack.calls_to("chat.postMessage")) == 1  # the item's own message only
    assert holder.send_due() == 1
    assert holder.send_due() == 0 and elsewhere.send_due() == 0  # claimed once
    [reply] = [m for m in slack.thread("C0LABELS", parent) if m["ts"] != parent]
    assert "U0EXPERT" in reply["text"]


def test_audits_and_dm_sessions_are_served_by_one_host(hosts, slack):  # noqa: F811
    from tests.bot.test_audits import resolved_with_audit

    first_factory, second_factory = hosts
    slack.add_channel("C0AUDIT", "audits", members=["UBOT", "U0EXPERT"])
    config = make_config(quality={"audit_channel": "C0AUDIT"})
    one, two = dispatcher(first_factory, slack, config), dispatcher(second_factory, slack, config)
    steps: list[str] = []
    sent: list[str] = []
    for name, d in (("one", one), ("two", two)):
        d.sessions.refresh = lambda projects, name=name: steps.append(name) or False  # type: ignore[method-assign]
        post = d.audits.post_pending

        def recorded(project, pid, name=name, post=post):
            done = post(project, pid)
            sent.extend([name] if done else [])
            return done

        d.audits.post_pending = recorded  # type: ignore[method-assign]
    assert one.run_once() is not None  # the first round takes the channel and the sessions lock
    resolved_with_audit(first_factory)
    for _ in range(4):
        for d in (two, one):
            if not d.run_once().worked:
                d.clock.advance(1.0)
    audits = [
        m
        for m in slack.messages("C0AUDIT")
        if (m.get("metadata") or {}).get("event_type") == "labelbot_audit"
    ]
    assert len(audits) == 1 and sent == ["one"]  # sent once, by the channel's poster
    assert set(steps) == {"one"}  # the DM-session step ran on one host only
    one.stop()
    two.stop()


def test_a_scheduled_digest_is_posted_by_its_channels_poster_only(factory, slack):  # noqa: F811
    from bot.slack.posting.digests import DigestPoster
    from tests.bot.slack.test_digest_poster import NOW

    slack.add_channel("C0DIGEST", "quality", members=["UBOT"])
    client = WebClient(token=slack.bot_token, base_url=slack.api_url, retry_handlers=[])
    config = make_config(digest={"channel": "C0DIGEST"})
    elsewhere = DigestPoster(_Poster(client, mine=False), factory, config, now=lambda: NOW)
    holder = DigestPoster(_Poster(client, mine=True), factory, config, now=lambda: NOW)
    assert elsewhere.post_due() == 0 and not slack.calls_to("chat.postMessage")
    assert holder.post_due() == 1
    assert holder.post_due() == 0 and elsewhere.post_due() == 0
