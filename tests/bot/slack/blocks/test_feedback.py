"""Private feedback messages: figures, escaped names, and a long list cut with a pointer."""

from __future__ import annotations

from typing import Any

from bot.config import ProjectConfig
from bot.feedback import AnnotatorFeedback, Confusion, Feedback
from bot.slack.blocks.feedback import MAX_LISTED, admin_feedback_message, annotator_feedback_message


class Shouting:
    def name(self, slack_id: str) -> str:
        return f"<!channel> {slack_id}"  # a display name is user data: shown, never acted on


def project() -> ProjectConfig:
    return ProjectConfig.model_validate(
        {
            "key": "support",
            "name": "Support",
            "channel": "C0LABELS",
            "labels": [{"value": "billing", "text": "Billing"}, {"value": "bug", "text": "Bug"}],
            "annotators": ["U0A"],
            "experts": {"admins": ["U0ADMIN"]},
        }
    )


def text_of(message: dict[str, Any]) -> str:
    return str(message["blocks"]) + message["text"]


def feedback(n: int) -> Feedback:
    people = tuple(AnnotatorFeedback(f"U{i:04d}", 0.5, 10, ()) for i in range(n))
    return Feedback(0.8, 0.9, 200, people)


def test_the_annotator_sees_their_figures_the_projects_and_their_confusions():
    person = AnnotatorFeedback("U0A", 0.6, 10, (Confusion("billing", "bug", 3), Confusion("x", "bug", 1)))
    text = text_of(annotator_feedback_message(project(), person, feedback(0), "this week"))
    assert "*60%* of the time (10 answers)" in text and "90% (200 answers)" in text and "80%" in text
    assert "expected *Billing*, you chose *Bug*: 3×" in text and "expected *x*, you chose *Bug*: 1×" in text
    assert "<#C0LABELS>" in text and "U0A" not in text


def test_the_admins_list_escapes_names_and_stops_at_the_limit():
    message = admin_feedback_message(project(), feedback(MAX_LISTED + 2), Shouting(), "this week")
    text = text_of(message)
    assert "<!channel>" not in text and "&lt;!channel&gt; U0000: 50% (10 answers)" in text
    assert f"U{MAX_LISTED:04d}" not in text and "…and 2 more" in text
    assert f"{MAX_LISTED + 2} annotators of *Support*" in text
