"""The README's screenshots of ``labelbot sandbox``, taken in Debian's chromium.

    python scripts/screenshots.py [--out docs/screenshots]

Starts a sandbox on the sample tickets, plays a short session in the browser (Ana labels items,
escalates one with the Escalate modal, Dr. Eve decides it, a digest is posted) and saves an item
message, the Escalate modal, the escalation thread with its decision buttons, the digest with its
chart (and the chart full size), and App Home.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.sandbox import CHANNEL, Sandbox  # noqa: E402
from bot.sandbox.runner import Options, free_port  # noqa: E402
from tests.sandbox.browser import Page, missing_browser, start_chromium  # noqa: E402

ANA, EVE, SAM = "U0ANA", "U0EVE", "U0SAM"


def labeled_items(page: Page, sandbox: Sandbox, labels: int) -> list[tuple[str, str]]:
    """(ts, item id) of the items showing ``labels`` labels and their label buttons."""
    found = []
    for message in page.all("#messages .message"):
        if page.find('[data-action-id^="label:"]', message) and f"{labels} of 3 labels" in message.text:
            ts = str(message.get_attribute("data-ts"))
            meta = (sandbox.slack.message(CHANNEL, ts) or {}).get("metadata") or {}
            found.append((ts, str(meta.get("event_payload", {}).get("item_id"))))
    return found


def scroll_to(page: Page, css: str) -> None:
    element = page.wait(lambda: page.find(css), css)
    page.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)


def session(page: Page, sandbox: Sandbox, out: Path) -> None:
    assert sandbox.annotators is not None
    answers = sandbox.annotators.answers
    page.open(ANA)
    # Ana answers three items the simulated annotators answered.
    for _ in range(3):
        ts, item = page.wait(lambda: labeled_items(page, sandbox, 2)[:1], "an item to label")[0]
        page.click(f'#messages .message[data-ts="{ts}"] [data-action-id="label:{answers[item]}"]')
        page.wait_text(ts, "Labeled", "the item to resolve")
    ts, _ = page.wait(lambda: labeled_items(page, sandbox, 2)[:1], "an item to show")[0]
    scroll_to(page, f'#messages .message[data-ts="{ts}"]')
    page.driver.save_screenshot(str(out / "item.png"))

    # The Escalate modal, filled in.
    page.click(f'#messages .message[data-ts="{ts}"] [data-action-id="escalate"]')
    modal = page.modal("escalate_modal")
    reason = modal.find_element(
        "css selector", '[data-block-id="reason"] textarea, [data-block-id="reason"] input'
    )
    reason.send_keys("A refund asked because of a crash: billing or bug?")
    page.driver.save_screenshot(str(out / "escalate-modal.png"))
    page.click('[data-role="submit"]', modal)
    page.no_modal()
    page.wait_text(ts, "Escalated", "the item message to show the escalation")

    # The experts' thread, as Dr. Eve sees it.
    page.act_as(EVE)
    page.open_thread(ts)
    page.wait(lambda: page.find('#thread-messages [data-action-id^="decide:"]'), "the decision buttons")
    page.driver.save_screenshot(str(out / "escalation-thread.png"))
    item = str(((sandbox.slack.message(CHANNEL, ts) or {}).get("metadata") or {})["event_payload"]["item_id"])
    page.click(f'#thread-messages [data-action-id="decide:{answers[item]}"]')
    page.wait_text(ts, "by an expert", "the decision")
    page.click("#thread-close")

    # The digest and its chart.
    digest_ts, chart = page.post_digest()
    scroll_to(page, f'#messages .message[data-ts="{digest_ts}"]')
    page.driver.execute_script("arguments[0].scrollIntoView({block: 'end'})", chart)
    page.driver.save_screenshot(str(out / "digest.png"))
    chart.click()  # opens it full size, as Slack does
    big = page.wait(lambda: page.find("#lightbox img"), "the chart, full size")
    page.wait(
        lambda: page.driver.execute_script("return arguments[0].naturalWidth", big), "the chart to load"
    )
    page.driver.save_screenshot(str(out / "digest-chart.png"))
    page.click("#lightbox")
    page.click("#thread-close")

    # App Home, as the admin sees it: the project's health with Pause, their own week.
    page.act_as(SAM)
    page.click("#nav-home")
    page.wait(lambda: page.find("#home-view .block"), "App Home")
    page.driver.save_screenshot(str(out / "app-home.png"))

    # A personal labeling session in direct messages, started from App Home, one answer given.
    page.act_as(ANA)
    page.click("#nav-home")
    page.click('#home-view [data-action-id="start_labeling"]', what="Start labeling")
    page.click("#nav-dm")
    button = page.wait(lambda: page.find('#dm-messages [data-action-id^="dm_label:"]'), "the session's item")
    button.click()
    page.wait(
        lambda: "You labeled item" in page.text(page_ts(page), "#dm-messages"), "the answer's confirmation"
    )
    page.driver.save_screenshot(str(out / "dm-session.png"))


def page_ts(page: Page) -> str:
    """The ts of the session's message in the Messages tab."""
    message = page.find("#dm-messages .message:not(.ephemeral)")
    return str(message.get_attribute("data-ts")) if message is not None else ""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    problem = missing_browser()
    if problem:
        sys.exit(f"error: {problem}")
    args.out.mkdir(parents=True, exist_ok=True)
    with Sandbox(Options(port=free_port(), accuracy=0.8, delay=0.5, seed=3)) as sandbox:
        driver = start_chromium(1280, 800)
        try:
            session(Page(driver, sandbox.url), sandbox, args.out)
        finally:
            driver.quit()
    for png in sorted(args.out.glob("*.png")):
        print(png.relative_to(ROOT) if png.is_relative_to(ROOT) else png)


if __name__ == "__main__":
    main()
