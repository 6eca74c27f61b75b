"""Action and callback IDs shared by the Block Kit builders and the listeners.

Interactive values carry an item reference (``bot.refs.ItemRef``: ``item_id:round``), an
escalation id or an audit id; the listeners parse them back.
"""

from __future__ import annotations

import re

__all__ = [
    "AUDIT_LABEL",
    "AUDIT_PREFIX",
    "DECIDE",
    "DECIDE_NOTE",
    "DECIDE_PREFIX",
    "ESCALATE",
    "FULL_TEXT",
    "GUIDELINES",
    "LABEL_BUTTON",
    "LABEL_PREFIX",
    "LABEL_SELECT",
    "SEND_BACK",
    "SKIP",
    "UNDO",
    "VIEW_DECIDE",
    "VIEW_ESCALATE",
    "VIEW_SEND_BACK",
]

LABEL_PREFIX = "label:"
LABEL_BUTTON = re.compile(r"^label:(.+)$")  # one button per label: label:<value>
LABEL_SELECT = "label_select"  # more than five labels: a menu
SKIP = "skip"
GUIDELINES = "guidelines"
FULL_TEXT = "full_text"
UNDO = "undo"
ESCALATE = "escalate"
DECIDE_PREFIX = "decide:"
DECIDE = re.compile(r"^decide:(.+)$")  # an expert's decision button: decide:<value>
DECIDE_NOTE = "decide_note"
SEND_BACK = "send_back"
AUDIT_PREFIX = "audit:"
AUDIT_LABEL = re.compile(r"^audit:(.+)$")  # a blind audit's answer: audit:<value>
VIEW_ESCALATE = "escalate_modal"
VIEW_DECIDE = "decide_modal"
VIEW_SEND_BACK = "send_back_modal"
