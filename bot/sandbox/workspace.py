"""The sandbox's workspace: its sample people, its channel, and the project it is configured with.

The project comes from a data file the way ``labelbot init`` proposes one (``bot.starter``): id,
text and label columns guessed, the other short columns shown as fields. The label column is not
imported as gold: it is what the simulated annotators know (``known_answers``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.starter import Starter

__all__ = ["ANNOTATORS", "CHANNEL", "SAMPLE_DATA", "USERS", "SampleUser", "known_answers", "project_config"]

CHANNEL = "C0SANDBOX"
SAMPLE_DATA = Path(__file__).with_name("sample_tickets.csv")


@dataclass(frozen=True)
class SampleUser:
    id: str
    name: str
    real_name: str
    role: str  # annotator, expert or admin
    simulated: bool = False  # answers items on its own


USERS = [
    SampleUser("U0ANA", "ana", "Ana Silva", "annotator"),
    SampleUser("U0BEN", "ben", "Ben Okafor", "annotator", simulated=True),
    SampleUser("U0CHLOE", "chloe", "Chloé Martin", "annotator", simulated=True),
    SampleUser("U0EVE", "eve", "Dr. Eve Novak", "expert"),
    SampleUser("U0SAM", "sam", "Sam Lee", "admin"),
]
ANNOTATORS = [u.id for u in USERS if u.role == "annotator"]

GUIDELINES = """# How to label
Label what the person **needs**, not the words they use.
- *Billing*: charges, refunds, invoices, plans.
- *Bug*: something in the product does not work as it should.
- When two labels fit, press *Escalate* and say why: an expert decides, and the decision
  becomes an edge case here."""


def project_config(starter: Starter) -> dict[str, Any]:
    """The sandbox's one project for a data file (as ``labelbot.yml`` would hold it)."""
    return {
        "key": starter.key,
        "name": starter.name,
        "channel": CHANNEL,
        "labels": [{"value": value, "text": _title(text)} for value, text in starter.labels],
        "annotators": ANNOTATORS,
        "experts": {
            "default": [u.id for u in USERS if u.role == "expert"],
            "admins": [u.id for u in USERS if u.role == "admin"],
        },
        "guidelines": GUIDELINES,
        "fields": starter.fields,
        "max_open": 6,
        # No training processes in a throwaway demo: the model needs more labels than it will see.
        "model": {"enabled": False},
    }


def _title(text: str) -> str:
    """``billing`` -> ``Billing``: data files hold labels as slugs; a button reads better capitalized."""
    return text[:1].upper() + text[1:] if text.islower() else text


def known_answers(rows: list[dict[str, Any]], starter: Starter) -> dict[str, str]:
    """Item id -> the label the data file gives it (empty without a label column)."""
    if starter.label_field is None:
        return {}
    by_text = {text: value for value, text in starter.labels}  # init keeps the raw value as the text
    answers = {}
    for row in rows:
        value = by_text.get(str(row.get(starter.label_field) or "")[:75])
        if value is not None:
            answers[str(row.get(starter.id_field))] = value
    return answers
