"""How a person or a user group is shown where people read a report: by name, not by ID.

Domain and report code take a :class:`Names` and never import Slack; the Slack-backed one is
``bot.slack.names.SlackNames``. Exports keep IDs: names are for reading, IDs for joining.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["IdNames", "Names"]


class Names(Protocol):
    def name(self, slack_id: str) -> str:
        """The display name of a user (``U…``/``W…``) or user group (``S…``); the ID when unknown.
        Never raises."""
        ...


class IdNames:
    """Names as IDs: for ``--ids``, and wherever no Slack is at hand."""

    def name(self, slack_id: str) -> str:
        return slack_id
