"""Block Kit for blind audits: the expert sees the item, never the consensus."""

from __future__ import annotations

from typing import Any

from bot.config import ProjectConfig
from bot.slack import ids
from bot.slack.blocks.text import escape, escaped_within, plain, truncate

__all__ = ["audit_done", "audit_request"]


def audit_request(
    project: ProjectConfig, audit_id: int, external_id: str, text: str, expert: str | None = None
) -> dict[str, Any]:
    body, _ = escaped_within(project.privacy.apply(text), 2900)  # redacted before the cut
    external_id = project.privacy.apply(external_id)
    who = f"<@{expert}>, " if expert else ""
    head = (
        f"{who}:mag: *Blind audit* for {escape(project.name)}: how would you label item "
        f"`{escape(truncate(external_id, 200))}`?"
    )
    buttons = [
        {
            "type": "button",
            "action_id": f"{ids.AUDIT_PREFIX}{o.value}",
            "value": str(audit_id),
            "text": {"type": "plain_text", "text": plain(o.text, 75)},
        }
        for o in project.labels[:25]
    ]
    return {
        "text": f"Blind audit: how would you label item {escape(truncate(external_id, 200))}?",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": head}},
            {"type": "section", "text": {"type": "mrkdwn", "text": body or " ", "verbatim": True}},
            {"type": "actions", "block_id": f"audit:{audit_id}", "elements": buttons},
        ],
    }


def audit_done(project: ProjectConfig, label: str, audited: str, agrees: bool) -> dict[str, Any]:
    def text_of(value: str) -> str:
        option = project.label(value)
        return escape(option.text if option else value)

    if agrees:
        line = f":white_check_mark: Thanks: you chose *{text_of(label)}*, the same as the annotators."
    else:
        line = (
            f":pencil2: Thanks: you chose *{text_of(label)}*; the annotators had *{text_of(audited)}*. "
            "Your label is now the final one."
        )
    return {"text": line, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": line}}]}
