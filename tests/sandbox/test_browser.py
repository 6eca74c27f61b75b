"""``labelbot sandbox`` in a real browser (Debian's chromium): a person's walkthrough, step by step,
with what the database holds after each step.

The sandbox always runs on SQLite (a throwaway file), whatever database the suite runs on, so
this runs once: on the SQLite pass. Missing chromium or chromedriver fails it, never skips it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from bot.sandbox import CHANNEL, Sandbox
from bot.sandbox.runner import Options, free_port
from storage.models import Item
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
