"""Block Kit for a personal labeling session's direct message (``bot.personal``).

One message, replaced in place: the confirmation of the last answer (with Undo while the item is
open), the next item with its label buttons, Skip, Guidelines, Escalate and Stop; a summary when
the session ends. Progress shows counts, never others' votes. Pure functions of plain data.
"""

from __future__ import annotations

from typing import Any

from bot.personal import Answered, SessionView, Summary
from bot.slack import ids
from bot.slack.blocks.item import button, label_elements, meta_section, notice, text_section
from bot.slack.blocks.text import escape, escaped_within, plain, truncate

__all__ = ["nothing_to_start", "session_message"]


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, 3000)}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _answered(answered: Answered) -> list[dict[str, Any]]:
    ident = escape(truncate(answered.card.external_id, 200))
    if answered.option is None:
        return [_section(f":fast_forward: Skipped item `{ident}`: you won't be asked about it again.")]
    blocks = [_section(f":white_check_mark: You labeled item `{ident}` as *{escape(answered.option.text)}*.")]
    if answered.gold_miss is not None:
        guide = escape(truncate(answered.gold_miss.description or "", 2500))
        line = f":bulb: This was a check item: the expected label is *{escape(answered.gold_miss.text)}*."
        blocks.append(_section(line + (f"\n>{guide}" if guide else "")))
    if answered.can_undo:
        ref = answered.card.ref.encode()
        blocks[0]["accessory"] = button("Undo", ids.DM_UNDO, ref)
    return blocks


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def _summary(view: SessionView, summary: Summary) -> list[dict[str, Any]]:
    name = escape(plain(view.project.name, 150))
    lines = [
        f":checkered_flag: *Session ended* in *{name}*: {summary.labels} label(s), "
        f"{summary.skips} skipped, in {_duration(summary.seconds)}. Thank you!"
    ]
    gold = summary.gold_right + summary.gold_wrong
    if view.project.quality.gold_feedback and gold:
        lines.append(f"Check items: {summary.gold_right} of {gold} answered as expected.")
    start = {
        "type": "actions",
        "block_id": "session_end",
        "elements": [button("Start again", ids.START_LABELING, view.project.key)],
    }
    return [_section("\n".join(lines)), start]


def session_message(view: SessionView) -> dict[str, Any]:
    """The session's message: ``text`` (notification fallback) and ``blocks``."""
    project = view.project
    name = escape(plain(project.name, 150))
    blocks: list[dict[str, Any]] = []
    if view.notice:
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(view.notice, 3000)}]}
        )
    if view.answered is not None:
        blocks += _answered(view.answered)
    if view.summary is not None:
        blocks += _summary(view, view.summary)
        return {"text": f"Labeling session in {name} ended.", "blocks": blocks}
    if blocks:
        blocks.append({"type": "divider"})
    card = view.card
    if card is None:
        blocks.append(_section(f":tada: Nothing waits for you in *{name}* right now."))
        blocks.append(
            {
                "type": "actions",
                "block_id": "session_empty",
                "elements": [
                    button("Check again", ids.DM_NEXT, "again"),
                    button("Stop", ids.DM_STOP, "stop"),
                ],
            }
        )
        return {"text": f"{name}: nothing waits for you right now.", "blocks": blocks}
    ident = escape(truncate(card.external_id, 200))
    head = f"*{name}* · item `{ident}` · {view.labels} labeled in this session"
    blocks.append(_context(head))
    section, cut = text_section(card.text)
    blocks.append(section)
    meta = meta_section(card, project.fields)
    if meta:
        blocks.append(meta)
    if card.suggestion and project.model.show_to_annotators:
        label, confidence = card.suggestion
        option = project.label(label)
        shown = escape(option.text if option else label)
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"Suggested: *{shown}* ({confidence:.0%})"}],
            }
        )
    ref = card.ref.encode()
    blocks.append(
        {
            "type": "actions",
            "block_id": f"labels:{ref}",
            "elements": label_elements(card, project, ids.DM_LABEL_PREFIX, ids.DM_LABEL_SELECT),
        }
    )
    tools = [
        button("Skip", ids.DM_SKIP, ref),
        button("Guidelines", ids.GUIDELINES, ref),
        button("Escalate", ids.ESCALATE, ref, style="danger"),
    ]
    if cut:
        tools.append(button("Show full text", ids.FULL_TEXT, ref))
    tools.append(button("Stop", ids.DM_STOP, ref))
    blocks.append({"type": "actions", "block_id": f"tools:{ref}", "elements": tools})
    fallback, _ = escaped_within(" ".join(card.text.split()), 300)
    return {"text": f"{name}: item to label: {fallback}", "blocks": blocks}


def nothing_to_start(text_mrkdwn: str) -> dict[str, Any]:
    """A direct message that says why no session started (Start labeling has no other reply)."""
    return notice(text_mrkdwn)
