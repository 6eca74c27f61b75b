"""Governance mistakes in ``labelbot.yml``: settings that are each valid, but leave an action no
one may take under :data:`bot.authorization.RULES`.

``bot.config`` checks each setting and the shape of the file; this module reads the file as a
whole against the rules of who may do what, and says which project, which setting, and what to
change. ``labelbot check`` reports these problems and ``labelbot serve`` refuses to start with
them, since what they break shows only later (an escalation that waits forever, audits no one
can close, a project no one can pause).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.authorization import Action, Authorizer
from bot.config import Config, ConfigError, ProjectConfig

__all__ = ["GovernanceProblem", "governance_problems", "require_governance"]


@dataclass(frozen=True)
class GovernanceProblem:
    project: str
    setting: str  # the key to change, e.g. ``experts.admins``
    problem: str
    fix: str

    def __str__(self) -> str:
        return f"project {self.project!r} → {self.setting}: {self.problem}; {self.fix}"


def governance_problems(config: Config) -> list[GovernanceProblem]:
    """Every governance problem of every project, in configuration order."""
    problems: list[GovernanceProblem] = []
    for project in config.projects:
        problems += _undecidable_escalations(project)
        problems += _admin_features_without_admins(project)
    return problems


def require_governance(config: Config) -> None:
    """Raise :class:`ConfigError` listing every governance problem (``serve``'s start)."""
    problems = governance_problems(config)
    if problems:
        raise ConfigError(
            "labelbot.yml leaves actions no one may take:\n" + "\n".join(f"  - {p}" for p in problems)
        )


def _undecidable_escalations(project: ProjectConfig) -> list[GovernanceProblem]:
    """DECIDE is for the routed experts and admins. Without ``experts.default`` and admins, an
    escalation is routed only by its labels and fields, and some reach no one."""
    experts = project.experts
    if experts.default or experts.admins:
        return []
    # Who may decide an escalation routed to no one: the rules with nobody routed.
    if Authorizer.who(Action.DECIDE, project, routed=()):
        return []
    uncovered = [label for label in project.label_values if not experts.by_label.get(label)]
    cases = ["an annotator's escalation, without a suggested label, of an item no one has labeled yet"]
    if uncovered:
        cases.append(f"an escalation involving only labels without by-label experts ({', '.join(uncovered)})")
    unless = (
        f", unless the item's {', '.join(sorted(experts.by_field))} routes it (experts.by_field)"
        if experts.by_field
        else ""
    )
    return [
        GovernanceProblem(
            project.key,
            "experts",
            "only routed experts and admins may decide, and without experts.default or experts.admins "
            f"these escalations are routed to no one and wait forever: {'; '.join(cases)}{unless}",
            "add experts.default (routed every time) or experts.admins (may decide any escalation)",
        )
    ]


def _admin_features_without_admins(project: ProjectConfig) -> list[GovernanceProblem]:
    """ADMIN and REVEAL are for admins only, and some features hand work to admins."""
    if Authorizer.who(Action.ADMIN, project):
        return []
    needs = [
        "pausing and resuming the project (/label pause, App Home)",
        "revealing an item's original text (/label reveal)",
        f"escalations still undecided after escalation.fallback_after "
        f"({_duration(project.escalation.fallback_after.total_seconds())}), handed to the admins",
        "the private list of annotators below the bar, sent to the admins with the digest",
    ]
    if project.quality.audit_rate > 0:
        needs.append(
            f"audits (quality.audit_rate {project.quality.audit_rate:g}): an admin answers the audits "
            "of an expert who cannot"
        )
    return [
        GovernanceProblem(
            project.key,
            "experts.admins",
            "no admins, but these need one: " + "; ".join(needs),
            "add at least one admin (a user ID U… or a user group S…) to experts.admins",
        )
    ]


def _duration(seconds: float) -> str:
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"
