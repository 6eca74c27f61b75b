"""Block Kit for escalations: the thread post with decision buttons, reminders, modals."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.config import ProjectConfig
from bot.slack import ids
from bot.slack.blocks.text import escape, escaped_within, mentions, plain

__all__ = [
    "already_decided",
    "decide_modal",
    "decision_done",
    "escalate_modal",
    "escalation_thread",
    "reminder",
    "send_back_modal",
]

NOTE_MAX = 2000


def escalation_thread(
    project: ProjectConfig,
    escalation_id: int,
    reason: str,
    counts: dict[str, int],
    experts: Sequence[str],
    *,
    raised_by: str | None = None,
    note: str | None = None,
    suggested: str | None = None,
    model: tuple[str, float] | None = None,
) -> dict[str, Any]:
    """The reply in the item's thread: votes (now visible), guidelines of the labels, experts, buttons."""

    def text_of(value: str) -> str:
        option = project.label(value)
        return escape(option.text if option else value)

    if reason == "annotator":
        head = f":raising_hand: <@{raised_by}> escalated this item"
    else:
        head = ":warning: Annotators disagree on this item"
    lines = [head + (f": {mentions(experts)}, please decide." if experts else ".")]
    if note:
        body, _ = escaped_within(project.privacy.apply(note), 1500)  # the reason may quote the item
        lines.append(f"*Reason:* {body}")
    if suggested:
        lines.append(f"*Suggested label:* {text_of(suggested)}")
    if counts:
        votes = ", ".join(f"*{text_of(v)}* × {n}" for v, n in counts.items())
        lines.append(f"*Votes:* {votes}")
    if model and project.model.show_to_experts:
        lines.append(f"*Suggested:* *{text_of(model[0])}* ({model[1]:.0%})")
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}}]
    involved = list(dict.fromkeys([*counts, *([suggested] if suggested else [])]))
    guide = []
    for value in involved:
        option = project.label(value)
        if option and option.description:
            desc, _ = escaped_within(option.description, 600)
            guide.append(f"• *{escape(option.text)}*: {desc}")
    if guide:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": "\n".join(guide)[:3000]}]})
    value = str(escalation_id)
    buttons: list[dict[str, Any]] = [
        {
            "type": "button",
            "action_id": f"decide:{option.value}",
            "text": {"type": "plain_text", "text": plain(option.text, 75)},
            "value": value,
        }
        for option in project.labels[:20]
    ]
    blocks.append({"type": "actions", "block_id": f"decide:{value}", "elements": buttons})
    blocks.append(
        {
            "type": "actions",
            "block_id": f"decide_tools:{value}",
            "elements": [
                {
                    "type": "button",
                    "action_id": ids.DECIDE_NOTE,
                    "value": value,
                    "text": {"type": "plain_text", "text": "Decide with a note"},
                    "style": "primary",
                },
                {
                    "type": "button",
                    "action_id": ids.SEND_BACK,
                    "value": value,
                    "text": {"type": "plain_text", "text": "Send back for relabeling"},
                },
            ],
        }
    )
    return {"text": "Escalated: an expert decision is needed", "blocks": blocks}


def decision_done(
    project: ProjectConfig, user: str, label: str | None, note: str | None, sent_back: bool = False
) -> dict[str, Any]:
    """The thread post after the decision: buttons removed, who decided what and why."""
    if sent_back:
        line = f":leftwards_arrow_with_hook: <@{user}> sent this item back for relabeling."
    else:
        option = project.label(label or "")
        line = f":white_check_mark: <@{user}> decided *{escape(option.text if option else label or '')}*."
    if note:
        body, _ = escaped_within(project.privacy.apply(note), 2500)
        line += f"\n>{body}"
    return {"text": line, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": line}}]}


def already_decided(
    project: ProjectConfig, status: str, decided_by: str | None, decided_label: str | None
) -> str:
    """Told to an expert whose decision came second."""
    who = decided_by or "someone"
    if status == "sent_back":
        return f"<@{who}> already sent this item back for relabeling."
    option = project.label(decided_label or "")
    what = escape(option.text if option else (decided_label or "?"))
    return f"<@{who}> already decided this item: *{what}*."


def reminder(experts: Sequence[str], admins: Sequence[str], fallback: bool) -> dict[str, Any]:
    if fallback:
        admins_text = mentions(admins) or "(none configured)"
        line = f":rotating_light: Still undecided. Admins {admins_text}, please decide"
        if experts:
            line += f" (routed to {mentions(experts)})"
        line += "."
    else:
        line = (
            f":alarm_clock: Reminder: {mentions(experts) or 'experts'}, this item is waiting for a decision."
        )
    return {"text": line, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": line}}]}


def _modal(
    callback_id: str, metadata: str, title: str, submit: str, blocks: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": metadata,
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": submit},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    }


def _label_options(project: ProjectConfig) -> list[dict[str, Any]]:
    return [
        {"text": {"type": "plain_text", "text": plain(o.text, 75)}, "value": o.value}
        for o in project.labels[:100]
    ]


def _note_input(block_id: str, label: str) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": label},
        "element": {
            "type": "plain_text_input",
            "action_id": "value",
            "multiline": True,
            "max_length": NOTE_MAX,
        },
    }


def escalate_modal(project: ProjectConfig, metadata: str, external_id: str) -> dict[str, Any]:
    item = {
        "type": "context",
        "elements": [
            {"type": "mrkdwn", "text": f"Item `{escape(project.privacy.apply(external_id)[:200])}`"}
        ],
    }
    suggested = {
        "type": "input",
        "block_id": "suggested",
        "optional": True,
        "label": {"type": "plain_text", "text": "Suggested label"},
        "element": {
            "type": "static_select",
            "action_id": "value",
            "options": _label_options(project),
            "placeholder": {"type": "plain_text", "text": "Optional"},
        },
    }
    return _modal(
        ids.VIEW_ESCALATE,
        metadata,
        "Escalate item",
        "Escalate",
        [item, _note_input("reason", "Reason"), suggested],
    )


def decide_modal(project: ProjectConfig, escalation_id: int) -> dict[str, Any]:
    label = {
        "type": "input",
        "block_id": "label",
        "label": {"type": "plain_text", "text": "Label"},
        "element": {"type": "static_select", "action_id": "value", "options": _label_options(project)},
    }
    edge_case = {
        "type": "input",
        "block_id": "edge_case",
        "optional": True,
        "label": {"type": "plain_text", "text": "Guidelines"},
        "element": {
            "type": "checkboxes",
            "action_id": "value",
            "options": [
                {
                    "text": {"type": "plain_text", "text": "Add as an edge case to the guidelines"},
                    "value": "edge_case",
                }
            ],
        },
    }
    return _modal(
        ids.VIEW_DECIDE,
        str(escalation_id),
        "Decide",
        "Decide",
        [label, _note_input("note", "Note"), edge_case],
    )


def send_back_modal(project: ProjectConfig, escalation_id: int) -> dict[str, Any]:
    """Send back for relabeling: the note is required and posted in the thread."""
    explain = {
        "type": "section",
        "text": {
            "type": "mrkdwn",
            "text": (
                "The item goes back to the queue for a new round of labels. "
                "The current votes are kept in its history."
            ),
        },
    }
    return _modal(
        ids.VIEW_SEND_BACK,
        str(escalation_id),
        "Send back",
        "Send back",
        [explain, _note_input("note", "Note for annotators")],
    )
