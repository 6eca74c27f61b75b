"""Block Kit for an item's message and the clicker's ephemeral confirmations.

Pure functions of plain data: no Slack client, no database. Item text and
metadata are user data: escaped, cut to Block Kit's limits, rendered verbatim.
"""

from __future__ import annotations

from typing import Any

from bot.cards import ItemCard
from bot.config import LabelOption, ProjectConfig
from bot.slack import ids
from bot.slack.blocks.text import escape, escaped_within, plain, truncate

__all__ = [
    "MAX_BUTTONS",
    "SECTION_TEXT_LIMIT",
    "button",
    "item_message",
    "label_confirmation",
    "label_elements",
    "meta_section",
    "notice",
    "text_section",
]

SECTION_TEXT_LIMIT = 3000
FIELD_LIMIT = 2000
MAX_BUTTONS = 5
FALLBACK_LIMIT = 300


def text_section(text: str) -> tuple[dict[str, Any], bool]:
    body, cut = escaped_within(text, SECTION_TEXT_LIMIT)
    return {"type": "section", "text": {"type": "mrkdwn", "text": body or " ", "verbatim": True}}, cut


def meta_section(card: ItemCard, fields: list[str]) -> dict[str, Any] | None:
    shown = []
    for name in fields[:10]:
        value = card.meta.get(name)
        if value is None or value == "":
            continue
        head = f"*{escape(truncate(name, 100))}*\n"
        body, _ = escaped_within(str(value), FIELD_LIMIT - len(head))
        shown.append({"type": "mrkdwn", "text": head + body, "verbatim": True})
    return {"type": "section", "fields": shown} if shown else None


def _label_label(option: LabelOption) -> str:
    return plain(option.text, 75)


def label_elements(
    card: ItemCard, project: ProjectConfig, prefix: str = ids.LABEL_PREFIX, select_id: str = ids.LABEL_SELECT
) -> list[dict[str, Any]]:
    """One button per label (``prefix`` + value), or a menu for more than five labels."""
    ref = card.ref.encode()
    if len(project.labels) <= MAX_BUTTONS:
        return [
            {
                "type": "button",
                "action_id": f"{prefix}{option.value}",
                "text": {"type": "plain_text", "text": _label_label(option), "emoji": True},
                "value": ref,
            }
            for option in project.labels
        ]
    return [
        {
            "type": "static_select",
            "action_id": select_id,
            "placeholder": {"type": "plain_text", "text": "Choose a label"},
            "options": [
                {"text": {"type": "plain_text", "text": _label_label(o)}, "value": o.value}
                for o in project.labels[:100]
            ],
        }
    ]


def button(text: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": text},
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def _status_line(card: ItemCard, project: ProjectConfig) -> str:
    ident = f"Item `{escape(truncate(card.external_id, 200))}`"
    if card.sent_back:
        return f"{ident} · :leftwards_arrow_with_hook: sent back for relabeling (round {card.round + 1})"
    if card.resolved:
        option = project.label(card.final_label or "")
        label = escape(option.text if option else (card.final_label or "?"))
        how = {
            "consensus": "by consensus",
            "expert": "by an expert",
            "audit": "by an audit",
            "model": "by the model",
        }.get(card.resolution or "", "")
        share = f", {card.agreement:.0%} agreement" if card.agreement is not None else ""
        return f"{ident} · :white_check_mark: Labeled *{label}* {how}{share}"
    if card.escalated:
        return f"{ident} · :warning: Escalated to experts: see the thread"
    return f"{ident} · {card.n_labels} of {card.needed} labels"


def item_message(card: ItemCard, project: ProjectConfig) -> dict[str, Any]:
    """The channel message for an item: ``text`` (notification fallback) and ``blocks``.

    Open items carry label buttons (or a select for more than five labels), Skip,
    Guidelines and Escalate; progress shows counts, never what others chose.
    Closed items keep only "Show full text".
    """
    section, cut = text_section(card.text)
    blocks: list[dict[str, Any]] = [section]
    meta = meta_section(card, project.fields)
    if meta:
        blocks.append(meta)
    context = _status_line(card, project)
    if card.suggestion and card.status_open and project.model.show_to_annotators:
        label, confidence = card.suggestion
        option = project.label(label)
        context += f" · Suggested: *{escape(option.text if option else label)}* ({confidence:.0%})"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
    ref = card.ref.encode()
    elements: list[dict[str, Any]] = []
    is_open = card.is_open
    if is_open:
        blocks.append(
            {"type": "actions", "block_id": f"labels:{ref}", "elements": label_elements(card, project)}
        )
        elements += [
            button("Skip", ids.SKIP, ref),
            button("Guidelines", ids.GUIDELINES, ref),
            button("Escalate", ids.ESCALATE, ref, style="danger"),
        ]
    if cut:
        elements.append(button("Show full text", ids.FULL_TEXT, ref))
    if elements:
        blocks.append({"type": "actions", "block_id": f"tools:{ref}", "elements": elements})
    fallback, _ = escaped_within(" ".join(card.text.split()), FALLBACK_LIMIT)
    verb = "to label" if is_open else "updated"
    return {"text": f"{escape(project.name)}: item {verb}: {fallback}", "blocks": blocks}


def label_confirmation(
    card: ItemCard, option: LabelOption, can_undo: bool, gold_miss: LabelOption | None = None
) -> dict[str, Any]:
    """Ephemeral: the clicker's own label, with Undo while the item is open.

    With gold feedback on, a wrong answer on a gold item also shows the expected
    label and its guideline text, so people learn as they work.
    """
    ident = escape(truncate(card.external_id, 200))
    line = f":white_check_mark: You labeled item `{ident}` as *{escape(option.text)}*."
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": line}}]
    if gold_miss is not None:
        guide = escape(truncate(gold_miss.description or "", 2500))
        feedback = f":bulb: This was a check item: the expected label is *{escape(gold_miss.text)}*."
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": feedback + (f"\n>{guide}" if guide else "")},
            }
        )
    if can_undo:
        blocks.append(
            {
                "type": "actions",
                "block_id": f"undo:{card.ref.encode()}",
                "elements": [button("Undo", ids.UNDO, card.ref.encode())],
            }
        )
    return {"text": f"You labeled item {ident} as {escape(option.text)}.", "blocks": blocks}


def notice(text_mrkdwn: str) -> dict[str, Any]:
    """A one-line ephemeral answer (refusals, confirmations); ``text_mrkdwn`` must be escaped."""
    return {
        "text": text_mrkdwn,
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": truncate(text_mrkdwn, 3000)}}],
    }
