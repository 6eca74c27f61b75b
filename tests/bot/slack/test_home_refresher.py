"""The App Home refresher against the Slack emulator: coalescing per user, 429's Retry-After,
user groups, failures, and its thread."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient

from bot.slack.directory import Directory
from bot.slack.emulator import SlackEmulator
from bot.slack.home import HomeRefresher
from tests.app_manifest import BOT_SCOPES


@pytest.fixture
def slack():
    emu = SlackEmulator(bot_scopes=BOT_SCOPES)
    emu.set_rate_limits("off")  # the 429s here are the tests' own
    emu.start()
    for user in ("U1", "U2", "U3"):
        emu.add_user(user, user.lower())
    emu.add_usergroup("S0GRP", "group", ["U2", "U3"])
    yield emu
    emu.stop()


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def render(user: str, page: int) -> dict:
    return {
        "type": "home",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": f"{user} {page}"}}],
    }


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def refresher(slack, clock):
    client = WebClient(token=slack.bot_token, base_url=slack.api_url, retry_handlers=[])
    return HomeRefresher(client, render, members=Directory(client).members, interval=2.0, clock=clock)


def published(slack, user=None):
    return [c for c in slack.calls_to("views.publish") if user is None or c.params.get("user_id") == user]


def test_many_touches_publish_once_per_interval(slack, refresher, clock):
    for _ in range(5):
        refresher.touch(["U1"])
    assert refresher.flush() is None  # published, nothing left
    assert len(published(slack, "U1")) == 1
    for _ in range(5):
        refresher.touch(["U1"])
    clock.t += 0.5
    assert refresher.flush() == pytest.approx(1.5)  # due in 1.5 s
    assert len(published(slack, "U1")) == 1
    clock.t += 1.5
    assert refresher.flush() is None
    assert len(published(slack, "U1")) == 2
    assert slack.home("U1")["blocks"][0]["text"]["text"] == "U1 1"


def test_a_listener_publish_counts_and_keeps_the_page(slack, refresher, clock):
    refresher.published("U1", page=3)
    refresher.touch(["U1"])
    assert refresher.flush() == pytest.approx(2.0)
    assert published(slack) == []
    clock.t += 2
    refresher.flush()
    assert slack.home("U1")["blocks"][0]["text"]["text"] == "U1 3"


def test_a_429_holds_every_publish_for_its_retry_after(slack, refresher, clock):
    slack.fail_next("views.publish", status=429, retry_after=7)
    refresher.touch(["U1", "U2"])
    assert refresher.flush() == pytest.approx(7.0)
    assert [c.status for c in published(slack)] == [429]
    clock.t += 6
    assert refresher.flush() == pytest.approx(1.0)
    assert len(published(slack)) == 1
    clock.t += 1
    assert refresher.flush() is None
    assert sorted(c.params["user_id"] for c in published(slack) if c.status == 200) == ["U1", "U2"]


@pytest.mark.parametrize("status", [500, 503])
def test_a_5xx_publishes_again_after_the_interval(slack, refresher, clock, status):
    """Slack's own trouble is not the Home's: dropping it would leave a stale Home until the tab
    is opened again (found by the storm scenario of tests/support/faults.py)."""
    slack.fail_next("views.publish", status=status, times=1)
    refresher.touch(["U1", "U2"])
    assert refresher.flush() == pytest.approx(2.0)
    assert [c.status for c in published(slack)] == [status]
    clock.t += 2
    assert refresher.flush() is None
    assert sorted(c.params["user_id"] for c in published(slack) if c.status == 200) == ["U1", "U2"]


def test_groups_are_expanded_and_failures_dropped(slack, refresher):
    refresher.touch(["S0GRP", "U0GONE"])  # U0GONE: user_not_found, logged, not retried
    assert refresher.flush() is None
    ok = sorted(c.params["user_id"] for c in published(slack) if c.response.get("ok"))
    assert ok == ["U2", "U3"]
    assert refresher.flush() is None and len(published(slack, "U0GONE")) == 1


def test_the_thread_publishes_what_is_touched(slack, refresher):
    refresher.start()
    try:
        refresher.touch(["U1"])
        slack.wait_for(lambda: slack.home("U1"), timeout=10)
    finally:
        refresher.stop()
