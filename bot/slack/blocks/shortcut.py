"""Block Kit for "Send to labeling", the message shortcut: its modal, a refusal, the confirmation.

The modal lists only the projects the user may send to. Labels belong to projects, so the
optional suggested label is one menu with a group of labels per project (a single project's
labels without a group); an option's value names its project and label
(:func:`label_option`, read back by :func:`read_label_option`), and a label of another project
than the chosen one is refused in the modal.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from bot.config import ProjectConfig
from bot.message_items import NOTE_MAX, Sent, SlackMessage, item_text
from bot.slack import ids
from bot.slack.blocks.text import escape, escaped_within, plain

__all__ = [
    "MAX_PROJECTS",
    "label_option",
    "read_label_option",
    "refusal_modal",
    "send_modal",
    "sent_modal",
]

MAX_PROJECTS = 100  # a static select's options, and its option groups
OPTION_VALUE_MAX = 150
PREVIEW_MAX = 1500
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,20}")


def label_option(project: ProjectConfig, index: int) -> str:
    """The option value of ``project``'s label number ``index``: ``<project>/<label>``, or
    ``<project>/#<index>`` when that is too long for Slack (neither keys nor labels hold ``/``)."""
    value = f"{project.key}/{project.labels[index].value}"
    return value if len(value) <= OPTION_VALUE_MAX else f"{project.key}/#{index}"


def read_label_option(value: str, projects: Sequence[ProjectConfig]) -> tuple[str, str] | None:
    """(project key, label value) of an option :func:`label_option` made, or None."""
    key, slash, label = value.partition("/")
    project = next((p for p in projects if p.key == key), None)
    if not slash or project is None:
        return None
    if label.startswith("#") and label[1:].isdigit():
        index = int(label[1:])
        return (key, project.labels[index].value) if index < len(project.labels) else None
    return key, label


def _modal(title: str, blocks: list[dict[str, Any]], submit: str | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": ids.VIEW_SEND_TO_LABELING,
        "title": {"type": "plain_text", "text": title},
        "close": {"type": "plain_text", "text": "Cancel" if submit else "Close"},
        "blocks": blocks,
    }
    if submit:
        view["submit"] = {"type": "plain_text", "text": submit}
    return view


def _section(mrkdwn: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn}}


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": plain(text, 75)}, "value": value}


def _preview(message: SlackMessage) -> list[dict[str, Any]]:
    """The message as the modal quotes it: escaped, cut, with its files counted."""
    body, _ = escaped_within(item_text(message) or "(no text)", PREVIEW_MAX)  # as the item will say
    where = []
    if message.author and _USER_ID.fullmatch(message.author):
        where.append(f"From <@{message.author}>")
    if message.files or message.attachments:
        names = ", ".join(escape(name[:80]) for name in message.files[:5])
        more = len(message.files) - 5
        counted = f"{len(message.files)} file(s)" + (f": {names}" if names else "")
        counted += f" and {more} more" if more > 0 else ""
        if message.attachments:
            counted += f"; {message.attachments} attachment(s)"
        where.append(f"{counted} (noted on the item, not copied)")
    blocks = [_section(body)]
    if where:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(where)}]})
    return blocks


def send_modal(projects: Sequence[ProjectConfig], message: SlackMessage, metadata: str) -> dict[str, Any]:
    """The project (required), a suggested label and a note (optional), under the message."""
    projects = list(projects)[:MAX_PROJECTS]
    project_select: dict[str, Any] = {
        "type": "static_select",
        "action_id": "value",
        "options": [_option(p.name, p.key) for p in projects],
        "placeholder": {"type": "plain_text", "text": "Choose a project"},
    }
    if len(projects) == 1:
        project_select["initial_option"] = project_select["options"][0]
    groups = [
        {
            "label": {"type": "plain_text", "text": plain(p.name, 75)},
            "options": [_option(label.text, label_option(p, i)) for i, label in enumerate(p.labels)],
        }
        for p in projects
    ]
    label_select: dict[str, Any] = {
        "type": "static_select",
        "action_id": "value",
        "placeholder": {"type": "plain_text", "text": "Optional"},
    }
    if len(groups) == 1:
        label_select["options"] = groups[0]["options"]
    else:
        label_select["option_groups"] = groups
    blocks = [
        *_preview(message),
        {
            "type": "input",
            "block_id": "project",
            "label": {"type": "plain_text", "text": "Project"},
            "element": project_select,
        },
        {
            "type": "input",
            "block_id": "suggested",
            "optional": True,
            "label": {"type": "plain_text", "text": "Suggested label"},
            "element": label_select,
        },
        {
            "type": "input",
            "block_id": "note",
            "optional": True,
            "label": {"type": "plain_text", "text": "Note for the annotators"},
            "element": {
                "type": "plain_text_input",
                "action_id": "value",
                "multiline": True,
                "max_length": NOTE_MAX,
            },
        },
    ]
    view = _modal("Send to labeling", blocks, submit="Send")
    view["private_metadata"] = metadata
    return view


def refusal_modal(reason: str) -> dict[str, Any]:
    """Why the shortcut cannot be used on this message (``reason``: plain text, escaped here)."""
    return _modal("Send to labeling", [_section(f":no_entry: {escape(reason)}")])


def sent_modal(project: ProjectConfig, sent: Sent) -> dict[str, Any]:
    """The confirmation the modal turns into: a new item, or the item it already was."""
    name = escape(project.name)
    ext = escape(sent.external_id)
    if sent.created:
        text = f":white_check_mark: Sent to *{name}* as item `{ext}`: it is queued for labeling."
    else:
        text = (
            f"This message is already an item of *{name}* (`{ext}`, {escape(sent.status)}): nothing changed."
        )
    return _modal("Send to labeling", [_section(text)])
