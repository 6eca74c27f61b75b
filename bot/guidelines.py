"""Guidelines and the edge cases that experts add to them when deciding."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.config import ProjectConfig
from storage.models import Escalation, EscalationStatus, Item, Project

__all__ = ["EdgeCase", "edge_cases_markdown", "recent_edge_cases"]


@dataclass(frozen=True)
class EdgeCase:
    """A decided item an expert added to the guidelines: its text, the label and why."""

    text: str
    label: str
    note: str


def recent_edge_cases(session: Session, project_key: str, limit: int | None = 10) -> list[EdgeCase]:
    """Edge cases, newest first."""
    query = (
        select(Item.text, Escalation.decided_label, Escalation.decision_note)
        .join(Item, Item.id == Escalation.item_id)
        .join(Project, Project.id == Item.project_id)
        .where(
            Project.key == project_key,
            Escalation.edge_case.is_(True),
            Escalation.status == EscalationStatus.DECIDED,
        )
        .order_by(Escalation.decided_at.desc(), Escalation.id.desc())
    )
    if limit is not None:
        query = query.limit(limit)
    return [EdgeCase(text, label or "", note or "") for text, label, note in session.execute(query)]


def _quote(text: str) -> str:
    return "\n".join("> " + line for line in text.splitlines() or [""])


def edge_cases_markdown(project: ProjectConfig, cases: list[EdgeCase]) -> str:
    """The guidelines followed by the edge cases, as Markdown ready to fold back into the config."""
    parts = [project.guidelines.rstrip() or f"# {project.name}", "", "## Edge cases", ""]
    if not cases:
        parts.append("_No edge cases yet._")
    for case in cases:
        option = project.label(case.label)
        parts += [
            _quote(case.text),
            "",
            f"**{option.text if option else case.label}** (`{case.label}`): {case.note}",
            "",
        ]
    return "\n".join(parts).rstrip() + "\n"
