"""App Home: the user's view of the projects."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.slack.blocks.text import escape, plain

__all__ = ["home_view"]


def home_view(summaries: Sequence[Any]) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": "labelbot"}}]
    if not summaries:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "No projects are set up yet."}})
    for s in list(summaries)[:40]:
        counts = " · ".join(f"{n} {status}" for status, n in s.counts.items())
        text = (
            f"*{escape(plain(s.name, 150))}* in <#{s.channel}>\n{counts}\n"
            f"*{s.waiting}* open item(s) wait for your label · you labeled {s.labeled_by_you}"
        )
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    return {"type": "home", "blocks": blocks}
