from datetime import timedelta

import pytest

from bot.config import ConfigError, load_config, parse_config, parse_duration

VALID = {
    "projects": [
        {
            "key": "support",
            "name": "Support tickets",
            "channel": "C0123ABCD",
            "labels": [
                {"value": "billing", "text": "Billing", "description": "Payments and refunds"},
                {"value": "bug", "text": "Bug"},
            ],
            "experts": {
                "default": ["U0EXPERT1", "S0GROUP1"],
                "by_label": {"billing": ["U0FIN"]},
                "by_field": {"language": {"de": ["U0DE"]}},
                "admins": ["U0ADMIN"],
            },
        }
    ]
}


def project(**overrides):
    raw = {"projects": [{**VALID["projects"][0], **overrides}]}
    return raw


def test_defaults():
    config = parse_config(VALID)
    p = config.project("support")
    assert p.annotators_per_item.min == 3 and p.annotators_per_item.max == 3
    assert p.agreement == pytest.approx(0.66)
    assert p.max_open == 10
    assert p.escalation.remind_after == timedelta(hours=24)
    assert p.escalation.fallback_after == timedelta(hours=72)
    assert p.digest.schedule == "0 9 * * mon"


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"channel": "general"}, "project 'support' (projects[0]) → channel: 'general' is not a channel ID"),
        (
            {"agreement": 0.4},
            "project 'support' (projects[0]) → agreement: Input should be greater than or equal to 0.5",
        ),
        ({"agreement": 1.5}, "agreement: Input should be less than or equal to 1"),
        (
            {"labels": [{"value": "a b", "text": "A"}, {"value": "c", "text": "C"}]},
            "labels[0].value: 'a b' is not a short slug",
        ),
        (
            {"labels": [{"value": "a", "text": "x" * 76}, {"value": "c", "text": "C"}]},
            "labels[0].text: String should have at most 75 characters",
        ),
        (
            {"labels": [{"value": "a" * 151, "text": "A"}, {"value": "c", "text": "C"}]},
            "labels[0].value: String should have at most 150 characters",
        ),
        ({"labels": [{"value": "a", "text": "A"}, {"value": "a", "text": "B"}]}, "duplicate value(s) a"),
        ({"annotators": ["alice"]}, "annotators: 'alice': not a Slack user ID"),
        ({"experts": {"by_label": {"nope": ["U0X1"]}}}, "experts.by_label: nope is not one of the labels"),
        ({"experts": {"admins": ["bob"]}}, "experts.admins: 'bob': not a Slack user ID"),
        ({"escalation": {"remind_after": "soon"}}, "escalation.remind_after: 'soon' is not a duration"),
        ({"annotators_per_item": {"min": 3, "max": 1}}, "min (3) is larger than max (1)"),
        ({"colour": "red"}, "colour: Extra inputs are not permitted"),
        ({"digest": {"timezone": "Mars/Olympus"}}, "unknown time zone 'Mars/Olympus'"),
    ],
)
def test_errors_name_project_key_and_problem(overrides, expected):
    with pytest.raises(ConfigError) as info:
        parse_config(project(**overrides))
    assert expected in str(info.value)


def test_all_problems_listed_at_once():
    with pytest.raises(ConfigError) as info:
        parse_config(project(channel="x", agreement=2))
    message = str(info.value)
    assert "channel" in message and "agreement" in message


def test_annotators_per_item_int_or_range():
    assert parse_config(project(annotators_per_item=5)).projects[0].annotators_per_item.max == 5
    dyn = parse_config(project(annotators_per_item={"min": 1, "max": 3})).projects[0].annotators_per_item
    assert (dyn.min, dyn.max, dyn.fixed) == (1, 3, False)


def test_duplicate_project_keys():
    raw = {"projects": [VALID["projects"][0], VALID["projects"][0]]}
    with pytest.raises(ConfigError, match="duplicate project key"):
        parse_config(raw)


def test_unknown_project():
    with pytest.raises(ConfigError, match="unknown project 'nope'; the configuration has: support"):
        parse_config(VALID).project("nope")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("24h", timedelta(hours=24)),
        ("3d", timedelta(days=3)),
        (90, timedelta(seconds=90)),
    ],
)
def test_durations(text, expected):
    assert parse_duration(text) == expected


def test_load_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.yml")
    bad = tmp_path / "bad.yml"
    bad.write_text("projects: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    empty = tmp_path / "empty.yml"
    empty.write_text("")
    with pytest.raises(ConfigError, match="top-level 'projects:'"):
        load_config(empty)
