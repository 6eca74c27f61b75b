"""Who may do what: the rules of ``bot.authorization``, without Slack."""

from __future__ import annotations

import pytest

from bot.authorization import RULES, Action, Authorizer, Permit, Refusal
from tests.bot.conftest import make_config


class StaticGroups:
    """Membership from a dict; groups it does not know cannot be looked up (None)."""

    def __init__(self, groups: dict[str, list[str]]) -> None:
        self.groups = groups

    def members(self, group_id: str) -> frozenset[str] | None:
        return frozenset(self.groups[group_id]) if group_id in self.groups else None

    def cached(self, group_id: str) -> bool:
        return True


@pytest.fixture
def authorizer() -> Authorizer:
    return Authorizer(StaticGroups({"S0ANN": ["U0GRP"], "S0EXP": ["U0GEXP"], "S0ADM": ["U0GADM"]}))


def project(**overrides):
    return make_config(**overrides).projects[0]


def test_every_action_has_a_rule():
    assert set(RULES) == set(Action)


def test_anyone_labels_when_no_annotators_are_configured(authorizer):
    permit = authorizer.label(project(), "U0ANYONE")
    assert isinstance(permit, Permit) and permit.user == "U0ANYONE" and permit.action == Action.LABEL


@pytest.mark.parametrize("check", ["label", "escalate"])
def test_annotators_and_members_of_their_groups_label_and_escalate(authorizer, check):
    p = project(annotators=["U0A", "S0ANN"])
    assert isinstance(getattr(authorizer, check)(p, "U0A"), Permit)
    assert isinstance(getattr(authorizer, check)(p, "U0GRP"), Permit)  # a member of S0ANN
    refusal = getattr(authorizer, check)(p, "U0OUT")
    assert isinstance(refusal, Refusal) and "not one of this project's annotators" in refusal.reason


def test_a_group_that_cannot_be_looked_up_denies(authorizer):
    assert isinstance(authorizer.label(project(annotators=["S0GONE"]), "U0GRP"), Refusal)


def test_routed_experts_and_admins_decide_others_do_not(authorizer):
    p = project(experts={"default": ["U0EXPERT"], "admins": ["U0ADMIN", "S0ADM"]})
    routed = ["U0FIN", "S0EXP"]
    for user in ("U0FIN", "U0GEXP", "U0ADMIN", "U0GADM"):
        permit = authorizer.decide(p, 7, routed, user)
        assert isinstance(permit, Permit) and permit.subject == 7
    # A default expert the escalation was not routed to (routing is per escalation), an annotator:
    for user in ("U0EXPERT", "U0A"):
        refusal = authorizer.decide(p, 7, routed, user)
        assert isinstance(refusal, Refusal) and "routed" in refusal.reason


def test_only_the_assigned_expert_and_admins_answer_an_audit(authorizer):
    p = project(experts={"default": ["U0EXPERT"], "admins": ["U0ADMIN"]})
    assert isinstance(authorizer.audit(p, 3, "U0EXPERT", "U0EXPERT"), Permit)
    assert isinstance(authorizer.audit(p, 3, "U0EXPERT", "U0ADMIN"), Permit)
    assert authorizer.audit(p, 3, "U0EXPERT", "U0OTHER") == Refusal(
        Action.AUDIT, "This audit was assigned to someone else."
    )


def test_admin_actions_are_for_admins_only(authorizer):
    p = project(experts={"admins": ["U0ADMIN"]})
    assert isinstance(authorizer.admin(p, "U0ADMIN"), Permit)
    assert isinstance(authorizer.admin(p, "U0EXPERT"), Refusal)


def test_a_permit_serves_only_its_action_and_subject():
    p = project()
    Permit(Action.DECIDE, p, "U0", 7).require(Action.DECIDE, 7)
    with pytest.raises(PermissionError):
        Permit(Action.LABEL, p, "U0").require(Action.DECIDE, 7)
    with pytest.raises(PermissionError):
        Permit(Action.DECIDE, p, "U0", 8).require(Action.DECIDE, 7)


def test_no_membership_means_groups_are_empty():
    bare = Authorizer()
    p = project(annotators=["S0ANN"])
    assert isinstance(bare.label(p, "U0GRP"), Refusal)
    assert bare.answers_from_cache(["S0ANN"])
