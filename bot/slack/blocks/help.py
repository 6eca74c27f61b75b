"""The ``/label help`` answer, and the usage of each subcommand."""

from __future__ import annotations

from typing import Any

from bot.config import Config
from bot.slack.blocks.text import escape

__all__ = ["USAGE", "help_message"]

USAGE = [
    ("/label next [PROJECT]", "start labeling in a direct message, one item after another"),
    ("/label mine", "your labels of the last 7 days, agreement and gold accuracy, only to you"),
    ("/label stats [PROJECT]", "this week's quality summary for a project, only to you"),
    ("/label guidelines [PROJECT]", "open a project's guidelines"),
    ("/label pause PROJECT", "admins: post no new items of a project"),
    ("/label resume PROJECT", "admins: post new items again"),
    ("/label reveal [PROJECT] ITEM", "admins: see an item's original text, only to you (recorded)"),
    ("/label help", "this help"),
]


def help_message(config: Config, unknown: str | None = None, problem: str | None = None) -> dict[str, Any]:
    """The help; ``unknown``: a subcommand labelbot does not know; ``problem``: what was wrong
    with the arguments (mrkdwn, escaped)."""
    lines = []
    if unknown:
        lines.append(f":grey_question: I don't know `{escape(unknown[:50])}`.")
    if problem:
        lines.append(f":grey_question: {problem}")
    lines.append(
        "*labelbot* posts items to label in your project channels. Click a label on an item; "
        "Skip if you can't tell; Escalate when it needs an expert. Your App Home shows your projects, "
        "your week, the escalations waiting for you and, for admins, each project's health."
    )
    lines.append("\n".join(f"• `{cmd}`: {what}" for cmd, what in USAGE))
    projects = ", ".join(f"`{escape(p.key)}` (<#{p.channel}>)" for p in config.projects)
    lines.append(f"*Projects:* {projects}")
    text = "\n\n".join(lines)
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}]}
