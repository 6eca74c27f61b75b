"""``labelbot sandbox`` in a real browser (Debian's chromium): a person's walkthrough, step by step,
with what the database holds after each step.

The sandbox always runs on SQLite (a throwaway file), whatever database the suite runs on, so
this runs once: on the SQLite pass. Missing chromium or chromedriver fails it, never skips it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from selenium.webdriver.support.ui import Select
from sqlalchemy import select

from bot.sandbox import CHANNEL, Sandbox
from bot.sandbox.runner import Options, free_port
from storage.models import Item, Label, LabelingSession
from tests.conftest import IS_POSTGRES
from tests.sandbox.browser import Page, missing_browser, start_chromium

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        IS_POSTGRES,
        reason="the sandbox always uses its own SQLite database: its browser test runs on the SQLite pass",
    ),
]

ANA, EVE = "U0ANA", "U0EVE"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    # The simulated annotators always give the known answer, a fraction of a second after an item
    # appears: every wait below is for a condition, with a timeout.
    running = Sandbox(Options(port=free_port(), accuracy=1.0, delay=0.3, seed=7)).start()
    yield running
    running.stop()
    assert not running.workdir.exists()  # the throwaway database is gone


@pytest.fixture
def page(sandbox: Sandbox) -> Iterator[Page]:
    problem = missing_browser()
    if problem:
        pytest.fail(problem)
    driver = start_chromium()
    yield Page(driver, sandbox.url)
    driver.quit()


def item_row(sandbox: Sandbox, item_id: str) -> tuple[str, str | None, str | None]:
    assert sandbox.bot is not None
    with sandbox.bot.engine.connect() as conn:
        row = conn.execute(
            select(Item.status, Item.resolution, Item.final_label).where(Item.id == int(item_id))
        ).one()
    return row.status, row.resolution, row.final_label


def item_of(sandbox: Sandbox, ts: str) -> str:
    message = sandbox.slack.message(CHANNEL, ts) or {}
    return str(message["metadata"]["event_payload"]["item_id"])


def open_item(page: Page, sandbox: Sandbox, labels: int) -> tuple[str, str]:
    """(ts, item id) of an item in the channel with ``labels`` labels and its label buttons shown."""

    def find() -> tuple[str, str] | None:
        for message in page.all("#messages .message"):
            if page.find('[data-action-id^="label:"]', message) and f"{labels} of 3 labels" in message.text:
                ts = str(message.get_attribute("data-ts"))
                return ts, item_of(sandbox, ts)
        return None

    return page.wait(find, f"an item with {labels} label(s)")


def test_walkthrough(sandbox: Sandbox, page: Page) -> None:
    assert sandbox.annotators is not None
    answers = sandbox.annotators.answers
    started = time.monotonic()

    # 1. Ana labels an item Ben and Chloé answered: it resolves by consensus.
    page.open(ANA)
    ts, item = open_item(page, sandbox, labels=2)
    answer = answers[item]
    page.click(f'#messages .message[data-ts="{ts}"] [data-action-id="label:{answer}"]')
    page.wait(
        lambda: item_row(sandbox, item) == ("resolved", "consensus", answer), "consensus in the database"
    )
    page.wait_text(ts, "Labeled", "the message to show the label")
    assert not page.find('[data-action-id^="label:"]', page.message(ts))

    # 2. Ana escalates another item with the Escalate modal: the experts' thread opens.
    ts, item = open_item(page, sandbox, labels=2)
    page.click(f'#messages .message[data-ts="{ts}"] [data-action-id="escalate"]')
    modal = page.modal("escalate_modal")
    page.click('[data-role="submit"]', modal)  # the reason is required: as in Slack, nothing is sent
    page.wait(lambda: page.find(".input-error.local", modal), "the required field's message")
    assert item_row(sandbox, item)[0] == "open"
    modal.find_element(
        "css selector", '[data-block-id="reason"] textarea, [data-block-id="reason"] input'
    ).send_keys("Two labels fit: <b>not sure</b>")
    page.click('[data-role="submit"]', modal)
    page.no_modal()
    page.wait(lambda: item_row(sandbox, item)[0] == "escalated", "the escalation in the database")
    thread = page.open_thread(ts)
    assert thread is not None
    page.wait(lambda: page.find('#thread-messages [data-action-id^="decide:"]'), "the decision buttons")
    assert "<b>not sure</b>" in page.find("#thread-messages").text  # shown as text, never as HTML

    # 3. Dr. Eve, the expert, decides it in the thread.
    page.act_as(EVE)
    page.open_thread(ts)
    answer = answers[item]
    page.click(f'#thread-messages [data-action-id="decide:{answer}"]')
    page.wait(
        lambda: item_row(sandbox, item) == ("resolved", "expert", answer), "the decision in the database"
    )
    page.wait_text(ts, "by an expert", "the item message to show the decision")

    # 4. The Guidelines modal, and closing it.
    page.act_as(ANA)
    page.click('#messages [data-action-id="guidelines"]')
    modal = page.wait(lambda: page.find("#modal-layer .modal"), "the Guidelines modal")
    page.wait(lambda: "How to label" in modal.text, "the guidelines' text")
    page.click('[data-role="close"]', modal)
    page.no_modal()
    assert item_row(sandbox, item) == ("resolved", "expert", answer)  # reading changes nothing

    # 5. A digest from the page, with its chart.
    page.post_digest()
    assert any(f.content and f.content.startswith(b"\x89PNG") for f in sandbox.slack.files.values())

    # 6. App Home, as the expert.
    page.act_as(EVE)
    page.click("#nav-home")
    page.wait(lambda: page.find("#home-view .block"), "App Home")

    took = time.monotonic() - started
    print(f"\nsandbox walkthrough in the browser: {took:.1f} s")


def session_item(sandbox: Sandbox, user: str) -> int | None:
    """The item ``user``'s live direct-message session shows (None: none)."""
    assert sandbox.bot is not None
    with sandbox.bot.engine.connect() as conn:
        return conn.execute(
            select(LabelingSession.item_id).where(
                LabelingSession.user_id == user, LabelingSession.ended_at.is_(None)
            )
        ).scalar()


def labels_of(sandbox: Sandbox, item_id: int) -> dict[str, str]:
    assert sandbox.bot is not None
    with sandbox.bot.engine.connect() as conn:
        rows = conn.execute(select(Label.user_id, Label.value).where(Label.item_id == item_id)).all()
    return {user: value for user, value in rows}


def test_labeling_in_direct_messages_and_sending_a_message_to_labeling(sandbox: Sandbox, page: Page) -> None:
    assert sandbox.annotators is not None
    answers = sandbox.annotators.answers

    # 1. Ana starts labeling from App Home; the session's message shows in the app's Messages tab.
    page.open(ANA)
    page.click("#nav-home")
    page.click('#home-view [data-action-id="start_labeling"]', what="the Start labeling button")
    page.click("#nav-dm")
    page.wait(lambda: page.find('#dm-messages [data-action-id^="dm_label:"]'), "the session's item")
    item = page.wait(lambda: session_item(sandbox, ANA), "the session in the database")
    ts = str(page.find("#dm-messages .message:not(.ephemeral)").get_attribute("data-ts"))

    # 2. Her answer is recorded, and the same message shows the next item (replaced in place).
    answer = answers[str(item)]
    page.click(f'#dm-messages [data-action-id="dm_label:{answer}"]')
    page.wait(lambda: labels_of(sandbox, item).get(ANA) == answer, "Ana's label in the database")
    page.wait_text(ts, "You labeled item", "the confirmation in the session's message", pane="#dm-messages")
    assert len(page.all("#dm-messages .message:not(.ephemeral)")) == 1
    assert not page.message(ts)  # nothing of the DM in the channel

    # 3. Ana sends a message of the channel to labeling from its ⋯ menu.
    page.click("#nav-channel")
    page.driver.find_element("css selector", "#composer-input").send_keys(
        "Refund never arrived <b>order 7</b>\n"
    )
    posted = page.wait(
        lambda: next((m for m in page.all("#messages .message") if "Refund never arrived" in m.text), None),
        "Ana's message in the channel",
    )
    posted_ts = str(posted.get_attribute("data-ts"))
    Select(
        page.wait(lambda: page.find(f'select.more[data-more-for="{posted_ts}"]'), "its ⋯ menu")
    ).select_by_value("send_to_labeling")
    modal = page.modal("send_to_labeling_modal")
    page.click('[data-role="submit"]', modal)
    page.wait(lambda: external_item(sandbox, f"slack:{CHANNEL}:{posted_ts}"), "the item in the database")
    text = external_item(sandbox, f"slack:{CHANNEL}:{posted_ts}")
    assert text is not None and "<b>order 7</b>" in text


def external_item(sandbox: Sandbox, external_id: str) -> str | None:
    assert sandbox.bot is not None
    with sandbox.bot.engine.connect() as conn:
        return conn.execute(select(Item.text).where(Item.external_id == external_id)).scalar()
