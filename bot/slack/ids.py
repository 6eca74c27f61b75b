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
    "DM_LABEL_BUTTON",
    "DM_LABEL_PREFIX",
    "DM_LABEL_SELECT",
    "DM_NEXT",
    "DM_SKIP",
    "DM_STOP",
    "DM_UNDO",
    "ESCALATE",
    "FULL_TEXT",
    "GUIDELINES",
    "HOME_PAGE",
    "LABEL_BUTTON",
    "LABEL_PREFIX",
    "LABEL_SELECT",
    "PAUSE_PROJECT",
    "RESUME_PROJECT",
    "SEND_BACK",
    "SEND_TO_LABELING",
    "SKIP",
    "START_LABELING",
    "UNDO",
    "VIEW_DECIDE",
    "VIEW_ESCALATE",
    "VIEW_SEND_BACK",
    "VIEW_SEND_TO_LABELING",
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
# Personal queues in direct messages (``bot.slack.listeners.sessions``) and App Home.
START_LABELING = "start_labeling"  # value: the project's key
DM_LABEL_PREFIX = "dm_label:"
DM_LABEL_BUTTON = re.compile(r"^dm_label:(.+)$")
DM_LABEL_SELECT = "dm_label_select"
DM_SKIP = "dm_skip"
DM_UNDO = "dm_undo"
DM_STOP = "dm_stop"
DM_NEXT = "dm_next"  # "Continue": the session's message asks for the next item again
PAUSE_PROJECT = "pause_project"  # value: the project's key
RESUME_PROJECT = "resume_project"
HOME_PAGE = "home_page"  # value: a page number of a long App Home list
# "Send to labeling", the message shortcut, and its modal.
SEND_TO_LABELING = "send_to_labeling"
VIEW_SEND_TO_LABELING = "send_to_labeling_modal"
