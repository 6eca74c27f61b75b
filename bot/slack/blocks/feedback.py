"""Block Kit for private feedback (pure): an annotator's own figures, and the admins' list.

Sent by direct message, never in a channel (``bot.slack.posting.feedback``). The wording is
kind on purpose: the figures are for the reader to act on, not a verdict.
"""

from __future__ import annotations

from typing import Any

from bot.config import ProjectConfig
from bot.feedback import AnnotatorFeedback, Feedback
from bot.names import Names
from bot.slack.blocks.text import escape

__all__ = ["admin_feedback_message", "annotator_feedback_message"]

MAX_LISTED = 40  # admins' list: people shown before "and N more"


def _label(project: ProjectConfig, value: str) -> str:
    option = project.label(value)
    return escape(option.text if option else value)


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:3000]}]}


def _project_figure(feedback: Feedback) -> str:
    if feedback.project_gold_accuracy is None:
        return "n/a"
    return f"{feedback.project_gold_accuracy:.0%} ({feedback.project_gold_answers} answers)"


def annotator_feedback_message(
    project: ProjectConfig, person: AnnotatorFeedback, feedback: Feedback, period_label: str
) -> dict[str, Any]:
    """One annotator's gold accuracy beside the project's, and the labels they most often mix up."""
    name = escape(project.name)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"Your gold check: {project.name}"[:150]}},
        _context(escape(period_label)),
        _section(
            f"Thank you for your labels on *{name}*. On the gold items (items whose answer is known) "
            f"you matched the answer *{person.gold_accuracy:.0%}* of the time ({person.gold_answers} "
            f"answers); the project as a whole matched {_project_figure(feedback)}, and aims for "
            f"{feedback.threshold:.0%}. Only you receive this message."
        ),
    ]
    if person.confusions:
        lines = "\n".join(
            f"• expected *{_label(project, c.expected)}*, you chose *{_label(project, c.given)}*: {c.n}×"
            for c in person.confusions
        )
        blocks.append(_section(f"*Where the answers differed most often*\n{lines}"))
    blocks.append(
        _section(
            "A look at the guidelines for these labels usually helps: open them with the *Guidelines* "
            f"button under any item in <#{project.channel}>. If a rule seems unclear, say so there: "
            "the experts would like to know."
        )
    )
    text = (
        f"Your gold check for {name}: {person.gold_accuracy:.0%} on {person.gold_answers} gold answers "
        f"(project: {_project_figure(feedback)})"
    )
    return {"text": text, "blocks": blocks}


def admin_feedback_message(
    project: ProjectConfig, feedback: Feedback, names: Names, period_label: str
) -> dict[str, Any]:
    """The admins' list: who is below the bar this period, by name, with accuracy and answers."""
    people = feedback.annotators
    rows = [
        f"• {escape(names.name(p.user_id))}: {p.gold_accuracy:.0%} ({p.gold_answers} answers)"
        for p in people[:MAX_LISTED]
    ]
    if len(people) > MAX_LISTED:
        rows.append(f"…and {len(people) - MAX_LISTED} more (`labelbot quality {project.key}` lists everyone)")
    count = f"{len(people)} annotator{'s' if len(people) != 1 else ''}"
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": f"Gold checks: {project.name}"[:150]}},
        _context(escape(period_label)),
        _section(
            f"{count} of *{escape(project.name)}* matched fewer than {feedback.threshold:.0%} of gold "
            f"answers this period (project: {_project_figure(feedback)}). Each of them has received "
            "their own figures privately, with the labels they most often mix up."
        ),
        _section("\n".join(rows)),
        _context("This list goes to the project's admins only; the channel's digest names no one."),
    ]
    text = f"Gold checks for {escape(project.name)}: {count} below {feedback.threshold:.0%}"
    return {"text": text, "blocks": blocks}
