"""The ``/label help`` answer."""

from __future__ import annotations

from typing import Any

from bot.config import Config
from bot.slack.blocks.text import escape

__all__ = ["help_message"]

USAGE = [
    ("/label help", "this help"),
    ("/label stats PROJECT", "this week's quality summary for a project, only to you"),
]


def help_message(config: Config, unknown: str | None = None) -> dict[str, Any]:
    lines = []
    if unknown:
        lines.append(f":grey_question: I don't know `{escape(unknown[:50])}`.")
    lines.append(
        "*labelbot* posts items to label in your project channels. Click a label on an item; "
        "Skip if you can't tell; Escalate when it needs an expert."
    )
    lines.append("\n".join(f"• `{cmd}`: {what}" for cmd, what in USAGE))
    projects = ", ".join(f"`{escape(p.key)}` (<#{p.channel}>)" for p in config.projects)
    lines.append(f"*Projects:* {projects}")
    text = "\n\n".join(lines)
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}]}
