"""Action and callback IDs shared by the builders and the listeners.

Interactive values carry ``item_id:round`` so that a click on a message from an
earlier round (an item sent back for relabeling) is recognised and refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "DECIDE",
    "DECIDE_NOTE",
    "ESCALATE",
    "FULL_TEXT",
    "GUIDELINES",
    "LABEL_BUTTON",
    "LABEL_SELECT",
    "SEND_BACK",
    "SKIP",
    "UNDO",
    "VIEW_DECIDE",
    "VIEW_ESCALATE",
    "VIEW_SEND_BACK",
    "ItemRef",
]

LABEL_PREFIX = "label:"
LABEL_BUTTON = re.compile(r"^label:(.+)$")
LABEL_SELECT = "label_select"
SKIP = "skip"
GUIDELINES = "guidelines"
FULL_TEXT = "full_text"
UNDO = "undo"
ESCALATE = "escalate"
DECIDE_PREFIX = "decide:"
DECIDE = re.compile(r"^decide:(.+)$")
DECIDE_NOTE = "decide_note"
SEND_BACK = "send_back"
VIEW_ESCALATE = "escalate_modal"
VIEW_DECIDE = "decide_modal"
VIEW_SEND_BACK = "send_back_modal"


@dataclass(frozen=True)
class ItemRef:
    item_id: int
    round: int

    def encode(self) -> str:
        return f"{self.item_id}:{self.round}"

    @classmethod
    def decode(cls, value: str | None) -> ItemRef | None:
        """Parse ``item_id:round``; None for anything else (never trust a payload's shape)."""
        if not value:
            return None
        parts = value.split(":")
        if len(parts) != 2 or not all(p.isdigit() for p in parts):
            return None
        return cls(int(parts[0]), int(parts[1]))
