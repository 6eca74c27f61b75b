"""References to items that travel through Slack payloads and back.

Interactive values carry ``item_id:round``, so that a click on a message from an
earlier round (an item sent back for relabeling) is recognised and refused.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ItemRef"]

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
