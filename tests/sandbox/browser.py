"""Driving the sandbox's page in Debian's chromium (the browser test and ``scripts/screenshots.py``).

Every step waits for a condition with a timeout, never for a fixed time.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from typing import Any

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement

CHROMIUM = ("chromium", "chromium-browser")
DRIVER = "chromedriver"


def missing_browser() -> str | None:
    """Why chromium cannot be driven here, or None."""
    if not any(shutil.which(name) for name in CHROMIUM):
        return "chromium is not installed (apt-get install -y chromium chromium-driver)"
    if not shutil.which(DRIVER):
        return "chromedriver is not installed (apt-get install -y chromium-driver)"
    return None


def start_chromium(width: int = 1440, height: int = 900) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = next(p for p in map(shutil.which, CHROMIUM) if p)
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(arg)
    options.add_argument(f"--window-size={width},{height}")
    options.add_argument("--force-device-scale-factor=1")
    return webdriver.Chrome(service=Service(shutil.which(DRIVER)), options=options)


class Page:
    """The sandbox's page in a browser, as one person uses it."""

    def __init__(self, driver: webdriver.Chrome, url: str, timeout: float = 30) -> None:
        self.driver, self.url, self.timeout = driver, url, timeout

    def open(self, user: str) -> None:
        self.driver.get(f"{self.url}?user={user}")
        self.wait(lambda: self.find(f'.user.active[data-user="{user}"]'), "the page to load")

    def wait(self, condition: Callable[[], Any], what: str, timeout: float | None = None) -> Any:
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            try:
                result = condition()
            except (StaleElementReferenceException, WebDriverException):
                result = None
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.05)

    def find(self, css: str, root: Any = None) -> WebElement | None:
        found = (root or self.driver).find_elements(By.CSS_SELECTOR, css)
        return found[0] if found else None

    def all(self, css: str, root: Any = None) -> list[WebElement]:
        return list((root or self.driver).find_elements(By.CSS_SELECTOR, css))

    def message(self, ts: str, pane: str = "#messages") -> WebElement | None:
        return self.find(f'{pane} .message[data-ts="{ts}"]')

    def text(self, ts: str, pane: str = "#messages") -> str:
        """The text of a message as shown ("" while it is not there)."""
        message = self.message(ts, pane)
        return message.text if message is not None else ""

    def wait_text(self, ts: str, text: str, what: str, pane: str = "#messages") -> None:
        self.wait(lambda: text in self.text(ts, pane), what)

    def click(self, css: str, root: Any = None, what: str | None = None) -> None:
        """Click the element once it is there. The page re-renders a section when its state changes
        (it polls every 0.7 s), so an element found may be replaced before the click lands: then it
        is looked up again and clicked, until the timeout."""

        def clicked() -> bool:
            element = self.find(css, root)
            if element is None:
                return False
            self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
            element.click()  # a stale or covered element raises: ``wait`` tries again
            return True

        self.wait(clicked, what or css)

    def act_as(self, user: str) -> None:
        self.click(f'.user[data-user="{user}"]')
        self.wait(lambda: self.find(f'.user.active[data-user="{user}"]'), f"acting as {user}")

    def open_thread(self, ts: str) -> WebElement:
        self.click(f'#messages .replies[data-thread-ts="{ts}"]', what=f"the thread of {ts}")
        return self.wait(lambda: self.message(ts, "#thread-messages"), "the thread pane")

    def modal(self, callback_id: str | None = None) -> WebElement:
        css = "#modal-layer .modal" + (f'[data-callback-id="{callback_id}"]' if callback_id else "")
        return self.wait(lambda: self.find(css), f"the modal {callback_id or ''}")

    def no_modal(self) -> None:
        self.wait(lambda: not self.find("#modal-layer .modal"), "the modal to close")

    def post_digest(self) -> tuple[str, WebElement]:
        """Post a digest from the page; its ts and its chart, once the image has loaded."""
        self.click("#run-digest")
        digest = self.wait(
            lambda: next((m for m in self.all("#messages .message") if "Quality digest" in m.text), None),
            "the digest",
        )
        digest_ts = str(digest.get_attribute("data-ts"))
        self.open_thread(digest_ts)
        chart = self.wait(lambda: self.find("#thread-messages img[data-file-id]"), "the chart")
        self.wait(
            lambda: self.driver.execute_script(
                "return arguments[0].complete && arguments[0].naturalWidth", chart
            ),
            "the chart to load",
        )
        return digest_ts, chart
