"""Who may do what: one table of rules, checked by every entry point before the domain acts.

A check returns a :class:`Permit` or a :class:`Refusal`. The domain functions that act for a
user (label, undo, skip, escalate, decide, send back, answer an audit) take a ``Permit``, so
none of them can run without having been allowed here first, whichever way the request came
(a channel button, a modal, a command; a direct message tomorrow).

User groups count for their members. Membership comes from a :class:`Membership` (the Slack
edge looks groups up with ``usergroups.users.list`` and caches them); a group that cannot be
looked up counts as empty, so a failing lookup denies (fail closed).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from bot.config import ProjectConfig

__all__ = [
    "REASONS",
    "ROLES",
    "RULES",
    "Action",
    "Authorizer",
    "Membership",
    "Permit",
    "Refusal",
    "is_group",
]


class Action(StrEnum):
    LABEL = "label"  # label, change, undo or skip an item
    ESCALATE = "escalate"  # send an open item to the experts
    DECIDE = "decide"  # decide an escalation, or send it back for relabeling
    AUDIT = "audit"  # answer a blind audit
    VIEW = "view"  # read a project's guidelines, an item's full text, the project's stats
    ADMIN = "admin"  # pause or resume a project
    REVEAL = "reveal"  # see an item's original text, as stored (before any redaction)
    SUBMIT = "submit"  # send a Slack message to the project as an item ("Send to labeling")


#: Who may, per action (the README's table): "annotators" is the project's ``annotators`` (everyone
#: when the list is empty), "routed" the experts an escalation was routed to, "assigned" the expert
#: an audit was sent to, "experts" every expert the project names (default, by label, by field),
#: "admins" ``experts.admins``, "submitters" the project's ``submitters`` (its annotators and admins
#: when the list is empty).
RULES: dict[Action, tuple[str, ...]] = {
    Action.LABEL: ("annotators",),
    Action.ESCALATE: ("annotators",),
    Action.DECIDE: ("routed", "admins"),
    Action.AUDIT: ("assigned", "admins"),
    Action.VIEW: ("annotators", "experts", "admins"),
    Action.ADMIN: ("admins",),
    Action.REVEAL: ("admins",),
    Action.SUBMIT: ("submitters",),
}

#: What each role means, for the README's table (``tests/test_readme.py`` holds the two together).
ROLES: dict[str, str] = {
    "annotators": "the project's `annotators` (users and user groups); everyone when the list is empty",
    "routed": "the experts an escalation was routed to (its thread names them)",
    "assigned": "the expert an audit was sent to",
    "experts": "every expert the project names: `experts.default`, `by_label`, `by_field`",
    "admins": "`experts.admins`",
    "submitters": "the project's `submitters`; when empty, its annotators and admins (everyone when "
    "`annotators` is empty too)",
}

#: What the user is told when refused (mrkdwn, shown as is).
NOT_ANNOTATOR = ":no_entry: You are not one of this project's annotators, so your answer was not recorded."
REASONS: dict[Action, str] = {
    Action.LABEL: NOT_ANNOTATOR,
    Action.ESCALATE: NOT_ANNOTATOR,
    Action.DECIDE: ":no_entry: Only the experts this item was routed to (and admins) can decide it.",
    Action.AUDIT: "This audit was assigned to someone else.",
    Action.VIEW: ":no_entry: Only this project's annotators, experts and admins can see that.",
    Action.ADMIN: ":no_entry: Only this project's admins can do that.",
    Action.REVEAL: ":no_entry: Only this project's admins can reveal an item's original text.",
    Action.SUBMIT: ":no_entry: You may not send messages to this project for labeling.",
}


@dataclass(frozen=True)
class Permit:
    """``user`` may do ``action`` in ``project`` (on ``subject``: an escalation or audit id)."""

    action: Action
    project: ProjectConfig
    user: str
    subject: int | None = None

    def require(self, action: Action, subject: int | None = None) -> None:
        """Raise unless this permit is for ``action`` (on ``subject``): a programming error, not a user's."""
        if self.action != action or (subject is not None and self.subject != subject):
            raise PermissionError(
                f"a permit for {self.action} on {self.subject} used for {action} on {subject}"
            )


@dataclass(frozen=True)
class Refusal:
    action: Action
    reason: str  # said to the user as is (mrkdwn, already escaped)


class Membership(Protocol):
    def members(self, group_id: str) -> frozenset[str] | None:
        """The group's members, or None when they cannot be told."""

    def cached(self, group_id: str) -> bool:
        """Whether :meth:`members` can answer without asking anyone."""


def _role(role: str, project: ProjectConfig, routed: Sequence[str], assigned: str | None) -> list[str] | None:
    """The IDs one role of :data:`RULES` stands for in ``project``; None means everyone."""
    experts = project.experts
    if role == "annotators":
        return list(project.annotators) or None
    if role == "submitters":
        if project.submitters:
            return list(project.submitters)
        return [*project.annotators, *experts.admins] if project.annotators else None
    fixed = {
        "routed": list(routed),
        "assigned": [assigned] if assigned else [],
        "experts": sorted(experts.everyone() - set(experts.admins)),
        "admins": list(experts.admins),
    }
    if role not in fixed:
        raise ValueError(f"RULES names an unknown role {role!r}")
    return fixed[role]


def is_group(slack_id: str) -> bool:
    """User-group IDs start with S; user IDs with U or W."""
    return slack_id.startswith("S")


class Authorizer:
    def __init__(self, membership: Membership | None = None) -> None:
        self._membership = membership

    # -- the checks ----------------------------------------------------------------------------
    def label(self, project: ProjectConfig, user: str) -> Permit | Refusal:
        return self._check(Action.LABEL, project, user, self.who(Action.LABEL, project))

    def escalate(self, project: ProjectConfig, user: str) -> Permit | Refusal:
        return self._check(Action.ESCALATE, project, user, self.who(Action.ESCALATE, project))

    def decide(
        self, project: ProjectConfig, escalation_id: int, routed: Sequence[str], user: str
    ) -> Permit | Refusal:
        who = self.who(Action.DECIDE, project, routed=routed)
        return self._check(Action.DECIDE, project, user, who, escalation_id)

    def audit(self, project: ProjectConfig, audit_id: int, assigned: str, user: str) -> Permit | Refusal:
        who = self.who(Action.AUDIT, project, assigned=assigned)
        return self._check(Action.AUDIT, project, user, who, audit_id)

    def view(self, project: ProjectConfig, user: str) -> Permit | Refusal:
        return self._check(Action.VIEW, project, user, self.who(Action.VIEW, project))

    def admin(self, project: ProjectConfig, user: str) -> Permit | Refusal:
        return self._check(Action.ADMIN, project, user, self.who(Action.ADMIN, project))

    def reveal(self, project: ProjectConfig, user: str) -> Permit | Refusal:
        return self._check(Action.REVEAL, project, user, self.who(Action.REVEAL, project))

    def submit(self, project: ProjectConfig, user: str) -> Permit | Refusal:
        return self._check(Action.SUBMIT, project, user, self.who(Action.SUBMIT, project))

    @staticmethod
    def who(
        action: Action, project: ProjectConfig, *, routed: Sequence[str] = (), assigned: str | None = None
    ) -> list[str] | None:
        """The users and groups :data:`RULES` allows for ``action``; None means everyone."""
        ids: list[str] = []
        for role in RULES[action]:
            members = _role(role, project, routed, assigned)
            if members is None:
                return None
            ids += members
        return ids

    # -- membership ------------------------------------------------------------------------------
    def includes(self, ids: Iterable[str], user: str) -> bool:
        """Is ``user`` one of ``ids``, or a member of a group among them?"""
        ids = list(ids)
        if user in ids:
            return True
        for group in filter(is_group, ids):
            members = self._membership.members(group) if self._membership else None
            if members is not None and user in members:
                return True
        return False

    def answers_from_cache(self, ids: Iterable[str]) -> bool:
        """Can a check over ``ids`` be answered without a lookup (which may wait on the network)?"""
        return all(self._membership is None or self._membership.cached(g) for g in filter(is_group, ids))

    def _check(
        self,
        action: Action,
        project: ProjectConfig,
        user: str,
        who: list[str] | None,
        subject: int | None = None,
    ) -> Permit | Refusal:
        if who is None or (user and self.includes(who, user)):
            return Permit(action, project, user, subject)
        return Refusal(action, REASONS[action])
