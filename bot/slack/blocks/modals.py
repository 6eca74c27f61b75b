"""Modals: guidelines and an item's full text (pure builders)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.config import ProjectConfig
from bot.guidelines import EdgeCase
from bot.slack.blocks.text import escape, escaped_within, markdown_to_mrkdwn, plain

__all__ = ["chunks", "full_text_modal", "guidelines_modal", "notice_modal"]

MODAL_BLOCKS = 100
SECTION = 3000


def chunks(mrkdwn: str, size: int = SECTION) -> list[str]:
    """Split text into section-sized pieces, at line breaks where possible, never inside an entity."""
    pieces: list[str] = []
    rest = mrkdwn
    while rest:
        if len(rest) <= size:
            pieces.append(rest)
            break
        cut = rest.rfind("\n", 0, size)
        if cut < size // 2:
            cut = size
            amp = rest.rfind("&", 0, cut)
            if amp != -1 and ";" not in rest[amp:cut]:
                cut = amp
        pieces.append(rest[:cut])
        rest = rest[cut:].lstrip("\n")
    return pieces


def _modal(title: str, blocks: list[dict[str, Any]]) -> dict[str, Any]:
    if len(blocks) > MODAL_BLOCKS:
        cut_note = {"type": "context", "elements": [{"type": "mrkdwn", "text": "_Cut: too long for Slack._"}]}
        blocks = [*blocks[: MODAL_BLOCKS - 1], cut_note]
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": plain(title, 24)},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": blocks,
    }


def _sections(mrkdwn: str) -> list[dict[str, Any]]:
    return [{"type": "section", "text": {"type": "mrkdwn", "text": part}} for part in chunks(mrkdwn) if part]


def guidelines_modal(project: ProjectConfig, edge_cases: Sequence[EdgeCase] = ()) -> dict[str, Any]:
    """The project's guidelines, the labels' descriptions, then the newest edge cases."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": plain(project.name, 150)}}
    ]
    if project.guidelines.strip():
        blocks += _sections(markdown_to_mrkdwn(project.guidelines))
    described = [
        f"• *{escape(option.text)}* (`{escape(option.value)}`): {escape(option.description or '')}"
        for option in project.labels
    ]
    blocks += _sections("*Labels*\n" + "\n".join(described))
    if edge_cases:
        blocks.append({"type": "divider"})
        blocks.append({"type": "header", "text": {"type": "plain_text", "text": "Edge cases"}})
        for case in edge_cases:
            option = project.label(case.label)
            text, _ = escaped_within(project.privacy.apply(case.text), 1200)
            note, _ = escaped_within(project.privacy.apply(case.note), 1200)
            label = escape(option.text if option else case.label)
            blocks.append(
                {"type": "section", "text": {"type": "mrkdwn", "text": f">{text}\n→ *{label}*: {note}"}}
            )
    return _modal("Guidelines", blocks)


def full_text_modal(project: ProjectConfig, external_id: str, text: str) -> dict[str, Any]:
    """An item's whole text (redacted as the project says), split over sections, verbatim."""
    body, _ = escaped_within(project.privacy.apply(text), SECTION * (MODAL_BLOCKS - 2))
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": part, "verbatim": True}}
        for part in chunks(body)
    ]
    return _modal(f"Item {project.privacy.apply(external_id)}", blocks)


def notice_modal(title: str, mrkdwn: str) -> dict[str, Any]:
    """A short notice where Slack gives no message to answer in (an App Home's or a modal's button).
    ``mrkdwn`` is the bot's own text, not user data: not escaped."""
    return _modal(title, _sections(mrkdwn))
