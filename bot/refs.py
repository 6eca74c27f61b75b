"""References to items that travel through Slack payloads and back.

Interactive values carry ``item_id:round``, so that a click on a message from an
earlier round (an item sent back for relabeling) is recognised and refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["Click", "ItemRef"]

MAX_DIGITS = 18  # ids are 64-bit in the database: a longer number is nobody's item


@dataclass(frozen=True)
class ItemRef:
    item_id: int
    round: int

    def encode(self) -> str:
        return f"{self.item_id}:{self.round}"

    @classmethod
    def decode(cls, value: object) -> ItemRef | None:
        """Parse ``item_id:round``; None for anything else (never trust a payload's shape)."""
        if not isinstance(value, str) or not value:
            return None
        parts = value.split(":")
        if len(parts) != 2 or not all(p.isascii() and p.isdigit() and len(p) <= MAX_DIGITS for p in parts):
            return None
        return cls(int(parts[0]), int(parts[1]))


@dataclass(frozen=True)
class Click:
    """Where and when a user acted: the message the button was on, and the time by Slack's clock.

    ``channel`` and ``message_ts`` are None when the action did not come from a message (a modal's
    submission); ``at`` orders one user's actions on one item (None: the server's clock);
    ``ephemeral``: the message was one only the clicker sees.
    """

    channel: str | None = None
    message_ts: str | None = None
    at: datetime | None = None
    ephemeral: bool = False

    def elsewhere(self, channel: str | None, message_ts: str | None, *, on_message: bool = True) -> bool:
        """Whether this click came from outside an item's ``channel`` (or, ``on_message``, from
        another message than its current one, ``message_ts``). A click from no message (a modal's
        submission) is from nowhere in particular: never elsewhere."""
        if self.channel is None:
            return False
        return self.channel != channel or (on_message and self.message_ts != message_ts)
