"""Rule validation, matching and the predict_proba stand-in."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from bot.learning.rules import RULE_CONFIDENCE, RuleError, RulePrelabeler, parse_rules
from bot.learning.sampling import score

LABELS = ["bug", "billing", "feature", "other"]
RULES: list[dict[str, Any]] = [
    {"label": "bug", "keywords": ["crash", "stack trace", "C++"]},
    {"label": "billing", "pattern": r"\b(invoice|refund)s?\b"},
    {"label": "feature", "keywords": ["please add", "would be nice"]},
]


def test_keywords_match_whole_words_case_insensitively() -> None:
    pre = RulePrelabeler(RULES, LABELS)
    assert pre.predict(
        [
            "App CRASH on start",
            "crashing is not a keyword match",
            "see the Stack Trace below",
            "our c++ build",
            "two Invoices missing",
            "Please add dark mode",
            "nothing relevant",
        ]
    ) == ["bug", None, "bug", "bug", "billing", "feature", None]


def test_first_matching_rule_wins_and_conflicts_lower_confidence() -> None:
    pre = RulePrelabeler(RULES, LABELS)
    agree, conflict, none = pre.prelabel(["crash crash", "refund after a crash", "hello"])
    assert (agree.label, agree.confidence, agree.rule_index) == ("bug", pytest.approx(RULE_CONFIDENCE), 0)
    assert (conflict.label, conflict.rule_index) == ("bug", 0)
    assert conflict.confidence == pytest.approx(RULE_CONFIDENCE / 2)
    assert (none.label, none.confidence, none.rule_index) == (None, 0.0, None)


def test_predict_proba_is_a_distribution_over_project_labels() -> None:
    pre = RulePrelabeler(RULES, LABELS)
    assert list(pre.classes_) == LABELS
    proba = pre.predict_proba(["crash", "refund after a crash", "hello"])
    assert proba.shape == (3, 4)
    assert proba.sum(axis=1) == pytest.approx([1.0, 1.0, 1.0])
    assert proba[0] == pytest.approx([0.6, 0.4 / 3, 0.4 / 3, 0.4 / 3])
    assert proba[1].argmax() == 0
    assert proba[1, 0] == pytest.approx(0.3)  # 0.6 x 1/2, still at least the others' share
    assert proba[2] == pytest.approx([0.25] * 4)
    # Unmatched items are the most uncertain, so the bot asks about them first.
    result = score(proba, pre.classes_, "uncertainty")
    assert result.priority.argmax() == 2


def test_without_project_labels_classes_come_from_the_rules() -> None:
    pre = RulePrelabeler(RULES)
    assert list(pre.classes_) == ["billing", "bug", "feature"]


def test_accepts_config_objects_and_parsed_rules() -> None:
    objects = [SimpleNamespace(label="bug", keywords=["crash"], pattern=None)]
    assert RulePrelabeler(objects, LABELS).predict(["crash"]) == ["bug"]
    parsed = parse_rules(RULES, LABELS)
    assert [r.source for r in parsed] == ["keywords", "pattern", "keywords"]
    assert RulePrelabeler(parsed, LABELS).predict(["refund"]) == ["billing"]
    assert parse_rules(None) == []


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ([{"label": "bug", "pattern": "crash("}], r"model\.rules\[0\]: invalid regex 'crash\('"),
        ([RULES[0], {"label": "bug", "pattern": "[a-"}], r"model\.rules\[1\]: invalid regex"),
        ([{"keywords": ["x"]}], r"model\.rules\[0\]: label must be"),
        ([{"label": "bug"}], r"model\.rules\[0\]: give exactly one of keywords or pattern"),
        ([{"label": "bug", "keywords": ["x"], "pattern": "x"}], "exactly one"),
        ([{"label": "bug", "keywords": []}], "non-empty list"),
        ([{"label": "bug", "keywords": "crash"}], "non-empty list"),
        ([{"label": "bug", "keywords": ["ok", " "]}], "keyword ' '"),
        ([{"label": "bug", "pattern": ""}], "pattern must be"),
        ([{"label": "bug", "keyword": ["x"]}], r"unknown key\(s\) \['keyword'\]"),
        ([{"label": "spam", "keywords": ["x"]}], "'spam' is not one of the project labels"),
        (["crash"], r"model\.rules\[0\] must be a mapping"),
        ("crash", "must be a list"),
    ],
)
def test_invalid_rules_name_the_index(rules: Any, message: str) -> None:
    with pytest.raises(RuleError, match=message):
        RulePrelabeler(rules, LABELS)


def test_needs_two_labels_and_sane_confidence() -> None:
    with pytest.raises(RuleError, match="at least 2 labels"):
        RulePrelabeler([{"label": "bug", "keywords": ["x"]}])
    with pytest.raises(RuleError, match="confidence"):
        RulePrelabeler(RULES, LABELS, confidence=0.0)
    with pytest.raises(RuleError, match="not among the project labels"):
        RulePrelabeler(parse_rules(RULES), ["bug", "other"])


def test_rule_confidence_stays_below_the_overlap_threshold() -> None:
    proba = RulePrelabeler(RULES[:2], ["bug", "billing"]).predict_proba(["crash", "invoice"])
    assert np.all(proba.max(axis=1) < 0.9)
