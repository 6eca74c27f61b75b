"""Block Kit validation: the emulator must reject what Slack rejects, with Slack-style pointers."""

from __future__ import annotations

from typing import Any

import pytest

from bot.slack.emulator.blockkit import normalize_blocks, validate_blocks, validate_view


def section(text: str = "hello", **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **extra}


def button(text: str = "OK", action_id: str = "ok", **extra: Any) -> dict[str, Any]:
    return {"type": "button", "text": {"type": "plain_text", "text": text}, "action_id": action_id, **extra}


def option(value: str, text: str | None = None) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": text or value}, "value": value}


def static_select(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "type": "static_select",
        "action_id": "pick",
        "placeholder": {"type": "plain_text", "text": "Pick"},
        "options": [option(f"v{i}") for i in range(n)],
        **extra,
    }


def modal(blocks: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    view: dict[str, Any] = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Label item"},
        "submit": {"type": "plain_text", "text": "Save"},
        "blocks": blocks if blocks is not None else [section()],
    }
    view.update(extra)
    return view


def test_realistic_message_is_valid() -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "Item 42"}},
        section("*Text*: the cat sat", block_id="item", accessory=static_select(3)),
        {"type": "divider"},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "2 of 3 labels"}]},
        {
            "type": "actions",
            "block_id": "labels",
            "elements": [
                button("Cat", "cat", value="cat"),
                button("Dog", "dog", value="dog", style="primary"),
            ],
        },
        {
            "type": "input",
            "block_id": "note",
            "label": {"type": "plain_text", "text": "Note"},
            "element": {"type": "plain_text_input", "action_id": "note", "multiline": True},
        },
    ]
    assert validate_blocks(blocks) == []


def test_section_text_over_3000_chars() -> None:
    assert validate_blocks([section("x" * 3000)]) == []
    errors = validate_blocks([section("x" * 3001)])
    assert errors == [
        "failed to match all allowed schemas [json-pointer:/blocks/0/text]",
        "must be less than 3001 characters [json-pointer:/blocks/0/text/text]",
    ]


def test_more_than_50_blocks_in_a_message_but_100_in_a_modal() -> None:
    assert validate_blocks([section()] * 50) == []
    assert "no more than 50 items allowed [json-pointer:/blocks]" in validate_blocks([section()] * 51)
    assert validate_blocks([section()] * 100, surface="modal") == []
    assert "no more than 100 items allowed [json-pointer:/blocks]" in validate_blocks(
        [section()] * 101, surface="modal"
    )


def test_select_option_limits() -> None:
    block = {"type": "actions", "elements": [static_select(100)]}
    assert validate_blocks([block]) == []
    block = {"type": "actions", "elements": [static_select(101)]}
    assert validate_blocks([block]) == [
        "no more than 100 items allowed [json-pointer:/blocks/0/elements/0/options]"
    ]
    block = {"type": "actions", "elements": [static_select(0)]}
    assert validate_blocks([block]) == [
        "must provide at least 1 items [json-pointer:/blocks/0/elements/0/options]"
    ]


def test_option_text_and_value_limits() -> None:
    sel = static_select(1)
    sel["options"] = [option("v" * 151, "t" * 76)]
    errors = validate_blocks([{"type": "actions", "elements": [sel]}])
    assert "must be less than 76 characters [json-pointer:/blocks/0/elements/0/options/0/text/text]" in errors
    assert "must be less than 151 characters [json-pointer:/blocks/0/elements/0/options/0/value]" in errors


def test_select_option_text_must_be_plain_text() -> None:
    sel = static_select(1)
    sel["options"][0]["text"]["type"] = "mrkdwn"
    errors = validate_blocks([{"type": "actions", "elements": [sel]}])
    assert errors == ["must be a valid enum value [json-pointer:/blocks/0/elements/0/options/0/text/type]"]


def test_duplicate_block_id() -> None:
    errors = validate_blocks([section(block_id="a"), section(block_id="a")])
    assert errors == ["duplicate block_id: a [json-pointer:/blocks/1/block_id]"]


def test_block_id_length() -> None:
    assert validate_blocks([section(block_id="b" * 256)]) == [
        "must be less than 256 characters [json-pointer:/blocks/0/block_id]"
    ]


def test_button_limits() -> None:
    assert validate_blocks([{"type": "actions", "elements": [button("b" * 75)]}]) == []
    errors = validate_blocks([{"type": "actions", "elements": [button("b" * 76)]}])
    assert errors == ["must be less than 76 characters [json-pointer:/blocks/0/elements/0/text/text]"]
    errors = validate_blocks(
        [
            {
                "type": "actions",
                "elements": [button(value="v" * 2001, url="https://x/" + "u" * 3000, action_id="a" * 256)],
            }
        ]
    )
    assert "must be less than 2001 characters [json-pointer:/blocks/0/elements/0/value]" in errors
    assert "must be less than 3001 characters [json-pointer:/blocks/0/elements/0/url]" in errors
    assert "must be less than 256 characters [json-pointer:/blocks/0/elements/0/action_id]" in errors


def test_button_text_must_be_plain_text() -> None:
    bad = button()
    bad["text"]["type"] = "mrkdwn"
    assert validate_blocks([{"type": "actions", "elements": [bad]}]) == [
        "must be a valid enum value [json-pointer:/blocks/0/elements/0/text/type]"
    ]


def test_duplicate_action_id_within_a_block() -> None:
    errors = validate_blocks(
        [{"type": "actions", "elements": [button(action_id="x"), button(action_id="x")]}]
    )
    assert errors == ["duplicate action_id: x [json-pointer:/blocks/0/elements/1/action_id]"]
    # the same action_id in different blocks is allowed
    assert (
        validate_blocks(
            [
                {"type": "actions", "elements": [button(action_id="x")]},
                {"type": "actions", "elements": [button(action_id="x")]},
            ]
        )
        == []
    )


def test_header_limits_and_plain_text_only() -> None:
    assert validate_blocks([{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}]) == [
        "must be less than 151 characters [json-pointer:/blocks/0/text/text]"
    ]
    assert validate_blocks([{"type": "header", "text": {"type": "mrkdwn", "text": "*h*"}}]) == [
        "must be a valid enum value [json-pointer:/blocks/0/text/type]"
    ]


def test_section_fields_limits() -> None:
    fields = [{"type": "mrkdwn", "text": "f"} for _ in range(11)]
    assert validate_blocks([{"type": "section", "fields": fields}]) == [
        "no more than 10 items allowed [json-pointer:/blocks/0/fields]"
    ]
    errors = validate_blocks([{"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2001}]}])
    assert "must be less than 2001 characters [json-pointer:/blocks/0/fields/0/text]" in errors
    assert validate_blocks([{"type": "section"}]) == [
        "must define either `text` or `fields` [json-pointer:/blocks/0]"
    ]


def test_context_and_actions_element_counts() -> None:
    ctx = {"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11}
    assert validate_blocks([ctx]) == ["no more than 10 items allowed [json-pointer:/blocks/0/elements]"]
    acts = {"type": "actions", "elements": [button(action_id=f"b{i}") for i in range(26)]}
    assert validate_blocks([acts]) == ["no more than 25 items allowed [json-pointer:/blocks/0/elements]"]


def test_text_objects_need_non_empty_text() -> None:
    errors = validate_blocks([section("")])
    assert "must be more than 0 characters [json-pointer:/blocks/0/text/text]" in errors
    errors = validate_blocks([{"type": "section", "text": {"type": "mrkdwn"}}])
    assert "missing required field: text [json-pointer:/blocks/0/text]" in errors
    errors = validate_blocks([{"type": "section", "text": {"type": "markdown", "text": "x"}}])
    assert "must be a valid enum value [json-pointer:/blocks/0/text/type]" in errors


def test_unknown_block_and_element_types_are_rejected() -> None:
    assert validate_blocks([{"type": "carousel"}]) == [
        "unsupported type: carousel [json-pointer:/blocks/0/type]"
    ]
    errors = validate_blocks(
        [{"type": "actions", "elements": [{"type": "image", "image_url": "x", "alt_text": "a"}]}]
    )
    assert errors == ["unsupported type: image [json-pointer:/blocks/0/elements/0/type]"]


def test_input_block_rules() -> None:
    def inp(element: dict[str, Any], label: str = "Label") -> dict[str, Any]:
        return {"type": "input", "label": {"type": "plain_text", "text": label}, "element": element}

    assert validate_blocks([inp({"type": "plain_text_input", "action_id": "t"}, "l" * 2001)]) == [
        "must be less than 2001 characters [json-pointer:/blocks/0/label/text]"
    ]
    assert validate_blocks([inp(button())]) == [
        "unsupported type: button [json-pointer:/blocks/0/element/type]"
    ]
    checkboxes = {"type": "checkboxes", "action_id": "c", "options": [option(f"o{i}") for i in range(11)]}
    assert validate_blocks([inp(checkboxes)]) == [
        "no more than 10 items allowed [json-pointer:/blocks/0/element/options]"
    ]
    radio = {"type": "radio_buttons", "action_id": "r", "options": [option("a"), option("b")]}
    assert validate_blocks([inp(radio)]) == []


def test_initial_option_must_be_offered() -> None:
    sel = static_select(2, initial_option=option("nope"))
    assert validate_blocks([{"type": "actions", "elements": [sel]}]) == [
        "must match one of the provided options [json-pointer:/blocks/0/elements/0/initial_option]"
    ]


def test_not_an_array() -> None:
    assert validate_blocks({"type": "section"}) == ["must be an array [json-pointer:/blocks]"]


def test_view_limits() -> None:
    assert validate_view(modal()) == []
    assert validate_view(modal(title={"type": "plain_text", "text": "t" * 25})) == [
        "must be less than 25 characters [json-pointer:/view/title/text]"
    ]
    assert validate_view(modal(submit={"type": "plain_text", "text": "s" * 25})) == [
        "must be less than 25 characters [json-pointer:/view/submit/text]"
    ]
    assert "no more than 100 items allowed [json-pointer:/view/blocks]" in validate_view(
        modal([section()] * 101)
    )
    assert validate_view(modal(private_metadata="p" * 3001)) == [
        "must be less than 3001 characters [json-pointer:/view/private_metadata]"
    ]
    assert validate_view(modal(callback_id="c" * 256)) == [
        "must be less than 256 characters [json-pointer:/view/callback_id]"
    ]
    assert validate_view(modal(title={"type": "mrkdwn", "text": "t"})) == [
        "must be a valid enum value [json-pointer:/view/title/type]"
    ]
    assert validate_view({"type": "dialog", "blocks": []}) == [
        "must be a valid enum value [json-pointer:/view/type]"
    ]


def test_modal_with_inputs_needs_submit() -> None:
    blocks = [
        {
            "type": "input",
            "label": {"type": "plain_text", "text": "L"},
            "element": {"type": "plain_text_input", "action_id": "t"},
        }
    ]
    view = modal(blocks)
    del view["submit"]
    assert validate_view(view) == [
        "must provide a submit property when using input blocks [json-pointer:/view]"
    ]


def test_home_view() -> None:
    assert validate_view({"type": "home", "blocks": [section()] * 100}) == []


@pytest.mark.parametrize("surface", ["modal", "home"])
def test_file_block_only_in_messages(surface: str) -> None:
    block = {"type": "file", "external_id": "x", "source": "remote"}
    assert validate_blocks([block]) == []
    assert validate_blocks([block], surface=surface) == [
        "unsupported type: file [json-pointer:/blocks/0/type]"
    ]


def test_normalize_blocks_adds_what_slack_adds() -> None:
    blocks = [
        section("hi"),
        {"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "b"}}]},
    ]
    out = normalize_blocks(blocks)
    assert blocks[0] == section("hi")  # input untouched
    assert out[0]["block_id"] and out[1]["block_id"] and out[0]["block_id"] != out[1]["block_id"]
    assert out[0]["text"]["verbatim"] is False
    assert out[1]["elements"][0]["text"]["emoji"] is True
    assert out[1]["elements"][0]["action_id"]
    assert normalize_blocks([section(block_id="keep")])[0]["block_id"] == "keep"
