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
        (
            {"channel": "general"},
            "project 'support' (projects[0]) → channel: 'general' is a channel name, not",
        ),
        ({"channel": "0123"}, "project 'support' (projects[0]) → channel: '0123' is not a channel ID"),
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
        ({"colour": "red"}, "colour: unknown key; the keys here are: key, name, channel, labels"),
        ({"digest": {"timezone": "Mars/Olympus"}}, "unknown time zone 'Mars/Olympus'"),
    ],
)
def test_errors_name_project_key_and_problem(overrides, expected):
    with pytest.raises(ConfigError) as info:
        parse_config(project(**overrides))
    assert expected in str(info.value)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"lables": []}, "project 'support' (projects[0]) → lables: unknown key; did you mean `labels`?"),
        (
            {"escalation": {"remind_afer": "2h"}},
            "project 'support' (projects[0]) → escalation.remind_afer: unknown key; did you mean `remind_after`?",
        ),
        (
            {"model": {"rules": [{"label": "bug", "keyword": ["crash"]}]}},
            "project 'support' (projects[0]) → model.rules[0].keyword: unknown key; did you mean `keywords`?",
        ),
        (
            {"channel": "#labeling"},
            "project 'support' (projects[0]) → channel: '#labeling' is a channel name, not a channel ID; "
            "labelbot needs the ID (C…/G…, like C0123ABCD): open the channel's details, the ID is at the "
            "bottom of the About tab",
        ),
        (
            {"annotators": "U0ALICE"},
            "project 'support' (projects[0]) → annotators: expected a list, like `[U0ALICE]` "
            "(or one `- item` per line), got 'U0ALICE'",
        ),
        (
            {"annotators": ["@alice"]},
            "annotators: '@alice': not a Slack user ID (U…/W…) or user-group ID (S…); that is a name: "
            "use the member ID (profile → ⋮ → Copy member ID) or the user group's ID",
        ),
        (
            {"max_open": "ten"},
            "project 'support' (projects[0]) → max_open: expected a whole number, got 'ten'",
        ),
        ({"agreement": "high"}, "agreement: expected a number, like 0.8, got 'high'"),
        (
            {"quality": {"gold_feedback": "maybe"}},
            "quality.gold_feedback: expected true or false, got 'maybe'",
        ),
        (
            {"experts": ["U0LEAD"]},
            "experts: expected keys with values (one of default, by_label, by_field, admins), got ['U0LEAD'] (list)",
        ),
        ({"name": None}, "name: has no value (nothing after the colon); give it one, or leave the key out"),
        ({"labels": []}, "project 'support' (projects[0]) → labels: needs at least 2 item(s), has 0"),
    ],
)
def test_common_mistakes_get_plain_messages(overrides, expected):
    with pytest.raises(ConfigError) as info:
        parse_config(project(**overrides))
    assert expected in str(info.value)
    assert "Input should" not in str(info.value) and "Extra inputs" not in str(info.value)


def test_labels_given_as_plain_strings_are_explained_once():
    with pytest.raises(ConfigError) as info:
        parse_config(project(labels=["billing", "bug", "other"]))
    assert str(info.value).splitlines()[1:] == [
        "  - project 'support' (projects[0]) → labels: each label needs a value and a text, like "
        "`- {value: billing, text: Billing}`"
    ]


def test_unknown_top_level_key_and_missing_projects():
    with pytest.raises(ConfigError) as info:
        parse_config({"project": []})
    assert str(info.value).splitlines()[1:] == [
        "  - projects: this key is required and missing",
        "  - project: unknown key; did you mean `projects`?",
    ]


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


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"channel": "C0123ABCD\n"}, "channel: 'C0123ABCD\\n' is not a channel ID"),
        ({"annotators": ["U0ALICE\n"]}, "annotators: 'U0ALICE\\n': not a Slack user ID"),
        ({"annotators": ["S0GROUP\n"]}, "annotators: 'S0GROUP\\n': not a Slack user ID"),
        ({"experts": {"default": ["U0LEAD\n"]}}, "experts.default: 'U0LEAD\\n': not a Slack user ID"),
        ({"experts": {"admins": ["U0ADMIN\n"]}}, "experts.admins: 'U0ADMIN\\n': not a Slack user ID"),
        (
            {"experts": {"by_label": {"bug": ["U0BUG\n"]}, "admins": ["U0ADMIN"]}},
            "experts.by_label: 'U0BUG\\n': not a Slack user ID",
        ),
        (
            {"experts": {"by_field": {"lang": {"de": ["S0DE\n"]}}, "admins": ["U0ADMIN"]}},
            "experts.by_field: 'S0DE\\n': not a Slack user ID",
        ),
        (
            {"quality": {"audit_channel": "C0AUDIT\n"}},
            "quality.audit_channel: 'C0AUDIT\\n' is not a channel ID",
        ),
        ({"digest": {"channel": "C0DIGEST\n"}}, "digest.channel: 'C0DIGEST\\n' is not a channel ID"),
        (
            {"labels": [{"value": "a\n", "text": "A"}, {"value": "c", "text": "C"}]},
            "'a\\n' is not a short slug",
        ),
        ({"key": "support\n"}, "key: 'support\\n' is not a short slug"),
        (
            {"escalation": {"remind_after": "24h\n\n1"}},
            "escalation.remind_after: '24h\\n\\n1' is not a duration",
        ),
    ],
)
def test_ids_and_slugs_must_match_whole(overrides, expected):
    """A trailing newline (``$`` matches before one) or anything after it is not part of an ID."""
    with pytest.raises(ConfigError) as info:
        parse_config(project(**overrides))
    assert expected in str(info.value)


def test_direct_message_ids_are_not_channels():
    with pytest.raises(ConfigError) as info:
        parse_config(project(channel="D0123ABCD"))
    assert "project 'support' (projects[0]) → channel: 'D0123ABCD' is a direct-message ID" in str(info.value)
    with pytest.raises(ConfigError) as info:
        parse_config(project(quality={"audit_channel": "D0123ABCD"}))
    message = str(info.value)
    assert "quality.audit_channel: 'D0123ABCD' is a direct-message ID" in message
    assert "leave audit_channel out" in message
    with pytest.raises(ConfigError) as info:
        parse_config(project(digest={"channel": "D0123ABCD"}))
    assert "digest.channel: 'D0123ABCD' is a direct-message ID" in str(info.value)
    config = parse_config(project(channel="G0PRIVATE", digest={"channel": "C0DIGEST"}))
    assert config.projects[0].channel == "G0PRIVATE"


def test_two_projects_on_one_channel_are_refused():
    first = VALID["projects"][0]
    raw = {
        "projects": [
            first,
            {**first, "key": "other"},
            {**first, "key": "third", "channel": "C0THIRD"},
            {**first, "key": "fourth", "channel": "C0THIRD"},
        ]
    }
    with pytest.raises(ConfigError) as info:
        parse_config(raw)
    message = str(info.value)
    assert (
        "project 'other' (projects[1]) → channel: C0123ABCD is already the channel of project 'support' "
        "(projects[0])" in message
    )
    assert (
        "project 'fourth' (projects[3]) → channel: C0THIRD is already the channel of project 'third'"
        in message
    )


def test_a_project_needs_someone_to_decide_escalations():
    with pytest.raises(ConfigError) as info:
        parse_config(project(experts={}))
    message = str(info.value)
    assert (
        "project 'support' (projects[0]) → experts: no one can decide this project's escalations" in message
    )
    assert "experts.default" in message and "experts.admins" in message
    for experts in (
        {"admins": ["U0ADMIN"]},
        {"default": ["S0GROUP"]},
        {"by_label": {"bug": ["U0BUG"]}},
        {"by_field": {"lang": {"de": ["U0DE"]}}},
    ):
        parse_config(project(experts=experts))  # any one of them will do


def test_audits_need_a_user_to_ask():
    with pytest.raises(ConfigError) as info:
        parse_config(project(experts={"default": ["S0GROUP"], "admins": []}, quality={"audit_rate": 0.1}))
    message = str(info.value)
    assert "quality.audit_rate: audits are sent to users in experts.default or experts.admins" in message
    parse_config(project(experts={"default": ["S0GROUP"]}, quality={"audit_rate": 0.0}))
