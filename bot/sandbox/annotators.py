"""Simulated annotators: sample people who answer the items in the channel on their own.

Each one looks at the channel as its user sees it, and some seconds (``delay``) after an item
appears (or comes back for a new round) clicks a label on it through the emulator, exactly as a
person's click reaches the bot. It gives the data file's known answer with probability
``accuracy``, else another label; without a known answer, any label.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from typing import Any

from bot.slack.emulator import SlackEmulator

__all__ = ["SimulatedAnnotators"]

log = logging.getLogger("labelbot.sandbox")
LABEL_PREFIX = "label:"
LABEL_SELECT = "label_select"


def label_choices(message: dict[str, Any]) -> tuple[str, list[str]] | None:
    """The label element of an item message: ("buttons" or "select", the values), or None."""
    for block in message.get("blocks") or []:
        if block.get("type") != "actions":
            continue
        buttons = [e["action_id"][len(LABEL_PREFIX) :] for e in block["elements"] if _is_label(e)]
        if buttons:
            return "buttons", buttons
        for element in block["elements"]:
            if element.get("action_id") == LABEL_SELECT:
                options = element.get("options") or [
                    o for g in element.get("option_groups") or [] for o in g.get("options") or []
                ]
                return "select", [o["value"] for o in options]
    return None


def _is_label(element: dict[str, Any]) -> bool:
    return str(element.get("action_id", "")).startswith(LABEL_PREFIX)


class SimulatedAnnotators:
    """A thread that makes ``users`` label the items of ``channel``; ``start`` and ``stop``."""

    def __init__(
        self,
        slack: SlackEmulator,
        channel: str,
        users: list[str],
        answers: dict[str, str],  # item id (as item messages' metadata give it) -> known label
        *,
        accuracy: float = 0.8,
        delay: float = 3.0,
        seed: int | None = None,
    ) -> None:
        self.slack, self.channel, self.users, self.answers = slack, channel, users, answers
        self.accuracy, self.delay = accuracy, delay
        self._rng = random.Random(seed)
        self._seen: dict[tuple[str, int], float] = {}  # (message ts, round) -> when first seen
        self._done: set[tuple[str, int, str]] = set()  # (ts, round, user)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sandbox-annotators", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            try:
                self.step(time.monotonic())
            except Exception:
                log.exception("a simulated annotator failed; the others go on")

    def step(self, now: float) -> None:
        """Answer what is due: user i answers an item ``delay * (i + 1)`` seconds after it appeared."""
        for message in self.slack.messages(self.channel):
            meta = (message.get("metadata") or {}).get("event_payload") or {}
            if (message.get("metadata") or {}).get("event_type") != "labelbot_item":
                continue
            choices = label_choices(message)
            key = (message["ts"], int(meta.get("round") or 1))
            if choices is None:
                continue
            first = self._seen.setdefault(key, now)
            for i, user in enumerate(self.users):
                if (*key, user) in self._done or now - first < self.delay * (i + 1):
                    continue
                self._done.add((*key, user))
                self._answer(user, message, str(meta.get("item_id", "")), *choices)

    def _answer(self, user: str, message: dict[str, Any], item_id: str, kind: str, values: list[str]) -> None:
        label = self.pick(self.answers.get(item_id), values)
        try:
            if kind == "buttons":
                self.slack.click(user, self.channel, message["ts"], LABEL_PREFIX + label)
            else:
                self.slack.click(user, self.channel, message["ts"], LABEL_SELECT, option_value=label)
        except LookupError:
            pass  # the message changed under us (resolved, escalated): nothing to answer any more

    def pick(self, known: str | None, values: list[str]) -> str:
        if known in values and self._rng.random() < self.accuracy:
            return known
        others = [v for v in values if v != known] or values
        return self._rng.choice(others)
