"""The privacy section of labelbot.yml, and redaction wherever item text is rendered for Slack."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from bot.cards import card_for
from bot.config import ConfigError, parse_config
from bot.exporter import redacted_value
from bot.guidelines import EdgeCase
from bot.slack.blocks.audit import audit_request
from bot.slack.blocks.escalation import decision_done, escalation_thread
from bot.slack.blocks.item import SECTION_TEXT_LIMIT, item_message
from bot.slack.blocks.modals import full_text_modal, guidelines_modal

CARD = "4111 1111 1111 1111"
EMAIL = "jane+x@example.com"
ALL = ["email", "phone", "card", "iban", "national_id", "ip", "url_secrets"]


def config(privacy=None, **extra):
    project = {
        "key": "p",
        "name": "P",
        "channel": "C0123ABCD",
        "labels": [{"value": "a", "text": "A"}, {"value": "b", "text": "B"}],
        "experts": {"admins": ["U0ADMIN"]},
        "fields": ["customer", "account"],
        **extra,
    }
    if privacy is not None:
        project["privacy"] = privacy
    return parse_config({"projects": [project]})


def project(**privacy):
    return config({"redact": ALL, **privacy}).projects[0]


@pytest.mark.parametrize(
    ("privacy", "expected"),
    [
        ({"redact": ["emial"]}, "privacy.redact: unknown detector 'emial'; did you mean `email`?"),
        ({"redact": ["names"]}, "privacy.redact: unknown detector 'names'; the detectors are: url_secrets"),
        ({"redact": "email"}, "privacy.redact: expected a list"),
        ({"redact": ["creditcard"]}, "privacy.redact: unknown detector 'creditcard'; did you mean `card`?"),
        ({"regions": ["XX"]}, "privacy.regions: 'XX': not a region phonenumbers knows"),
        (
            {"regions": ["UK"]},
            "privacy.regions: 'UK': not a region phonenumbers knows; use two-letter ISO 3166 codes like US, GB, DE (the United Kingdom is GB)",
        ),
        ({"regions": []}, "privacy.regions: needs at least 1 item(s)"),
        ({"custom": [{"pattern": "(ab"}]}, "privacy.custom[0].pattern: '(ab' is not a valid regex"),
        ({"custom": [{"pattern": "x*"}]}, "privacy.custom[0].pattern: 'x*' matches the empty text"),
        ({"custom": [{"replacement": "[x]"}]}, "privacy.custom[0].pattern: this key is required"),
        ({"redact": ["email"], "detectors": ["card"]}, "privacy.detectors: unknown key"),
    ],
)
def test_privacy_errors_name_the_field(privacy, expected):
    with pytest.raises(ConfigError) as info:
        config(privacy)
    assert f"project 'p' (projects[0]) → {expected}" in str(info.value)


def test_privacy_defaults_are_off_and_regions_upper_cased():
    off = config().projects[0].privacy
    assert not off.active and off.apply(EMAIL) == EMAIL and off.regions == ["US"]
    on = config({"redact": ["phone"], "regions": ["gb", "De"]}).projects[0].privacy
    assert on.regions == ["GB", "DE"] and on.apply("ring 020 7946 0958") == "ring [phone]"


def test_custom_patterns_apply_with_the_detectors():
    privacy = config({"redact": ["email"], "custom": [{"pattern": r"ACCT-\d+", "replacement": "[account]"}]})
    assert privacy.projects[0].privacy.apply(f"ACCT-991 {EMAIL}") == "[account] [email]"


def item(text, meta=None):
    return SimpleNamespace(
        id=1,
        external_id="x-1",
        round=0,
        text=text,
        status="open",
        meta=meta or {},
        final_label=None,
        resolution=None,
        agreement=None,
        model_label=None,
        model_confidence=None,
    )


def test_a_card_straddling_the_cut_is_redacted_before_it():
    text = "w " * 1495 + CARD + " tail " * 100
    assert text.index(CARD) < SECTION_TEXT_LIMIT < text.index(CARD) + len(CARD)
    p = project()
    message = item_message(
        card_for(None, item(text, {"customer": EMAIL, "account": 4111111111111111}), p, n_labels=0), p
    )
    dumped = json.dumps(message)
    assert "4111" not in dumped and "jane" not in dumped
    assert "[card]" in message["blocks"][0]["text"]["text"]
    assert "[email]" in dumped and "[card]" in json.dumps(message["blocks"][1])  # meta: text and a number


def test_a_custom_replacement_is_escaped_like_any_text():
    p = config({"custom": [{"pattern": "secret", "replacement": "<!channel>"}]}).projects[0]
    message = item_message(card_for(None, item("a secret"), p, n_labels=0), p)
    assert "<!channel>" not in json.dumps(message) and "&lt;!channel&gt;" in message["text"]


def test_without_privacy_the_card_shows_as_imported():
    p = config().projects[0]
    assert card_for(None, item(f"pay {CARD}", {"account": 5}), p, n_labels=0).text == f"pay {CARD}"


def test_builders_given_raw_text_redact_it():
    p = project()
    raw = f"card {CARD}, mail {EMAIL}"
    views = [
        audit_request(p, 1, "x-1", raw, "U0EXPERT"),
        full_text_modal(p, "x-1", raw * 500),
        guidelines_modal(p, [EdgeCase(raw, "a", f"because {EMAIL}")]),
        escalation_thread(p, 1, "annotator", {}, ["U0EXPERT"], raised_by="U0ANN1", note=raw),
        decision_done(p, "U0EXPERT", "a", raw),
    ]
    for view in views:
        dumped = json.dumps(view)
        assert "4111" not in dumped and "jane" not in dumped and "[card]" in dumped, dumped[:300]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (f"mail {EMAIL}", "mail [email]"),
        (4111111111111111, "[card]"),
        (42, 42),
        (None, None),
        (3.5, 3.5),
    ],
)
def test_export_redacts_text_and_numbers_that_hold_a_secret(value, expected):
    assert redacted_value(value, project().privacy.apply) == expected
    assert redacted_value(value, None) == value
