"""Governance checks (``bot.governance``) over hostile configurations, and where they are enforced:
``labelbot check`` and ``labelbot serve``'s start."""

from __future__ import annotations

import pytest

from bot.config import ConfigError
from bot.governance import governance_problems, require_governance
from tests.bot.conftest import make_config


def problems(**overrides):
    return [(p.project, p.setting, str(p)) for p in governance_problems(make_config(**overrides))]


def test_a_project_with_default_experts_and_admins_has_no_problem():
    assert problems() == []
    require_governance(make_config())  # does not raise


def test_by_label_experts_alone_leave_escalations_no_one_may_decide():
    found = problems(experts={"by_label": {"billing": ["U0FIN"]}, "default": [], "admins": ["U0ADMIN"]})
    assert found == []  # admins decide any escalation
    (experts, admins) = problems(experts={"by_label": {"billing": ["U0FIN"]}})
    assert experts[:2] == ("support", "experts")
    assert "routed to no one" in experts[2] and "(bug, other)" in experts[2]
    assert "add experts.default" in experts[2] and "experts.admins" in experts[2]
    assert admins[1] == "experts.admins"


def test_by_label_experts_covering_every_label_still_miss_an_unlabeled_escalation():
    every = {"billing": ["U0FIN"], "bug": ["U0BUG"], "other": ["U0OTHER"]}
    (experts, _) = problems(experts={"by_label": every})
    assert "no one has labeled yet" in experts[2] and "without by-label experts" not in experts[2]


def test_by_field_experts_are_named_as_the_only_route():
    (experts, _) = problems(experts={"by_field": {"language": {"de": ["U0DE"]}}})
    assert "unless the item's language routes it" in experts[2]


def test_no_admins_names_each_admin_only_feature_that_is_on():
    (admins,) = problems(experts={"default": ["U0EXPERT"]})
    project, setting, message = admins
    assert (project, setting) == ("support", "experts.admins")
    for feature in ("pausing and resuming", "revealing", "fallback_after (3d)", "below the bar"):
        assert feature in message
    assert "audit" not in message  # audits are off
    (with_audits,) = problems(experts={"default": ["U0EXPERT"]}, quality={"audit_rate": 0.1})
    assert "audits (quality.audit_rate 0.1)" in with_audits[2]


def test_an_admin_group_counts():
    assert problems(experts={"default": ["U0EXPERT"], "admins": ["S0ADMINS"]}) == []


def test_every_project_is_checked_and_named():
    config = make_config()
    other = config.projects[0].model_copy(update={"key": "other", "experts": config.projects[0].experts})
    bad = make_config(key="bad", experts={"by_label": {"bug": ["U0BUG"]}}).projects[0]
    config = config.model_copy(update={"projects": [config.projects[0], other, bad]})
    assert [(p.project, p.setting) for p in governance_problems(config)] == [
        ("bad", "experts"),
        ("bad", "experts.admins"),
    ]
    with pytest.raises(
        ConfigError, match=r"project 'bad' → experts: .*\n  - project 'bad' → experts\.admins"
    ):
        require_governance(config)
