"""How listeners are registered: a table of routes, and the runtime taken from Bolt's context.

Each listener module lists its routes; ``bot.slack.listeners.register`` registers them all, so
the table is what the app handles (the README's architecture table is checked against it).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient

from bot.slack.blocks.item import notice
from bot.slack.runtime import Runtime

__all__ = ["RUNTIME_KEY", "Reply", "Route", "Update", "ack_only", "runtime"]

RUNTIME_KEY = "labelbot_runtime"


@dataclass(frozen=True)
class Route:
    """One Slack interaction: what it matches, its listener (the ack, then lazy work after the
    ack), and the domain function that decides it."""

    kind: Literal["action", "view", "command", "event", "shortcut"]
    match: str | re.Pattern[str]
    ack: Callable[..., None]
    lazy: tuple[Callable[..., None], ...] = ()
    decides: str = ""  # "module.function" of the rule, for the README's table

    @property
    def name(self) -> str:
        """The action or callback id, command or event; ``label:<value>`` for a family of ids."""
        if isinstance(self.match, re.Pattern):
            return self.match.pattern.removeprefix("^").removesuffix("(.+)$") + "<value>"
        return self.match

    @property
    def listener(self) -> str:
        """``module.function`` of the listener that answers before the ack."""
        return _name(self.ack)

    @property
    def after_ack(self) -> str:
        """``module.function`` of what runs after the ack, if anything."""
        return ", ".join(_name(fn) for fn in self.lazy)


def _name(fn: Callable[..., None]) -> str:
    return f"{fn.__module__.rpartition('.')[2]}.{fn.__name__}"


@dataclass(frozen=True)
class Update:
    """A message to replace with ``chat.update``."""

    channel: str
    ts: str
    message: dict[str, Any]


@dataclass(frozen=True)
class Reply:
    """What a listener's lazy half sends, decided in its ack. It waits in Bolt's context, which is
    deep-copied for lazy listeners: plain values only."""

    updates: tuple[Update, ...] = ()
    ephemeral: str | None = None  # a notice to the clicker (mrkdwn, escaped)

    def send(self, client: WebClient, respond: Respond | None = None) -> None:
        for update in self.updates:
            client.chat_update(channel=update.channel, ts=update.ts, **update.message)
        if self.ephemeral is not None and respond is not None:
            respond(**notice(self.ephemeral), response_type="ephemeral", replace_original=False)


def runtime(context: BoltContext) -> Runtime:
    """The runtime the app's middleware put into the context (``bot.slack.app``)."""
    rt: Runtime = context[RUNTIME_KEY]
    return rt


def ack_only(ack: Ack) -> None:
    """Acknowledge at once; the lazy listener does the work (opening a modal needs the trigger
    within three seconds, and the ack must not wait for Slack)."""
    ack()
