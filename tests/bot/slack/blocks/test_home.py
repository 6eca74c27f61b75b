"""App Home's builder: at most 100 blocks whatever the lists hold, valid Block Kit, escaped text."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.home import Home, ProjectHealth, ProjectProgress, RoutedEscalation, WeekFigures
from bot.slack import ids
from bot.slack.blocks.home import PAGE_SIZE, home_view, mine_message, page_count, thread_link
from bot.slack.emulator.blockkit import validate_view
from storage.models import ItemStatus

HOSTILE = "<!channel> hi <@U123> & <http://evil.example|your bank>"
NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def progress(i, paused=False):
    counts = dict.fromkeys(ItemStatus, 1)
    return ProjectProgress(f"p{i}", f"{HOSTILE} {i}", f"C0P{i:04d}", counts, 2, 3, paused)


def escalation(i):
    return RoutedEscalation(
        i, "p0", HOSTILE, "C0P0000", f"item {HOSTILE}", HOSTILE * 50, "1700000000.000100",
        f"1700000000.{i:06d}", NOW - timedelta(hours=i), timedelta(hours=i),
    )  # fmt: skip


def health(i, paused=False):
    return ProjectHealth(
        f"p{i}",
        HOSTILE,
        f"C0P{i:04d}",
        5,
        2,
        1,
        None,
        None,
        NOW if paused else None,
        "U0ADMIN" if paused else None,
    )


def home(projects=0, escalations=0, admin=0):
    week = WeekFigures(None, 4, 2, 1, 0, 0)
    return Home(
        "U1",
        [progress(i) for i in range(projects)],
        week,
        [escalation(i) for i in range(escalations)],
        [health(i, paused=i % 2 == 1) for i in range(admin)],
    )


def actions(view, action_id):
    return [
        element["value"]
        for block in view["blocks"]
        for element in [block.get("accessory") or {}, *(block.get("elements") or [])]
        if element.get("action_id") == action_id
    ]


@pytest.mark.parametrize("n", [0, 1, PAGE_SIZE, PAGE_SIZE + 1, 400])
def test_every_page_is_valid_and_within_100_blocks(n):
    h = home(projects=n, escalations=n, admin=n)
    pages = page_count(h)
    assert pages == max(1, -(-3 * n // PAGE_SIZE))
    for page in range(1, pages + 1):
        view = home_view(h, page, notice="Done.")
        assert len(view["blocks"]) <= 100
        assert validate_view(view) == []
    last = home_view(h, pages + 5)  # out of range: the last page
    assert last == home_view(h, pages)


def test_pages_link_to_their_neighbours():
    h = home(projects=30, escalations=30, admin=30)
    assert actions(home_view(h, 1), ids.HOME_PAGE) == ["2"]
    assert actions(home_view(h, 2), ids.HOME_PAGE) == ["1", "3"]
    assert actions(home_view(h, 4), ids.HOME_PAGE) == ["3"]
    assert "Page 2 of 4 · 90 entries" in json.dumps(home_view(h, 2), ensure_ascii=False)
    assert actions(home_view(home(projects=3)), ids.HOME_PAGE) == []


def test_buttons_per_role():
    h = Home(
        "U1",
        [progress(0), progress(1, paused=True)],
        WeekFigures(None, 0, 0, 0, 0, 0),
        [],
        [health(0), health(1, True)],
    )
    view = home_view(h)
    assert actions(view, ids.START_LABELING) == ["p0"]  # a paused project has no Start button
    assert actions(view, ids.PAUSE_PROJECT) == ["p0"] and actions(view, ids.RESUME_PROJECT) == ["p1"]
    assert "Nothing here for you" in json.dumps(home_view(home()))


def test_user_text_is_escaped_and_cut():
    text = json.dumps(home_view(home(projects=1, escalations=1, admin=1)), ensure_ascii=False)
    assert "<!channel>" not in text and "<@U123>" not in text and "<http://evil" not in text
    assert "&lt;!channel&gt;" in text
    assert "waiting 0 min" in text
    assert (
        "<https://slack.com/archives/C0P0000/p1700000000000000?thread_ts=1700000000.000100&cid=C0P0000|open the thread>"
        in text
    )


def test_thread_links():
    assert (
        thread_link("C0ABC", "1700000000.000200", None)
        == "https://slack.com/archives/C0ABC/p1700000000000200"
    )
    assert thread_link("C0ABC", None, "1.2") is None
    assert thread_link("C0ABC|x", "1700000000.000200", None) is None  # never a broken link
    assert thread_link("C0ABC", "17>00", None) is None


def test_mine_lists_the_total_then_each_project():
    weeks = [WeekFigures(None, 3, 2, 1, 1, 1), WeekFigures("p", 3, 2, 1, 1, 1)]
    text = mine_message(weeks, {"p": "P <b>"})["text"]
    assert "*3* label(s) · agreement with the final label 50% (of 2) · gold accuracy 100% (of 1)" in text
    assert "• *P &lt;b&gt;*" in text
