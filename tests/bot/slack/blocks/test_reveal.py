"""The reveal answer (pure): escaped, within Slack's limits, cut with a pointer to the export, and
never the text in the fallback that notifications show."""

from __future__ import annotations

import json

import pytest

from bot.slack.blocks.reveal import REVEAL_SECTIONS, reveal_message
from bot.slack.emulator.blockkit import validate_blocks
from bot.slack.listeners.commands import LabelCommand, parse


def test_the_text_is_escaped_verbatim_and_not_in_the_fallback():
    message = reveal_message("support", "Support <b>", "e-1 <!here>", "Call <!channel> & <@U0ANN1> a@b.co")
    assert validate_blocks(message["blocks"]) == []
    body = message["blocks"][1]["text"]
    assert body == {
        "type": "mrkdwn",
        "text": "Call &lt;!channel&gt; &amp; &lt;@U0ANN1&gt; a@b.co",
        "verbatim": True,
    }
    assert "a@b.co" not in message["text"] and "&lt;!here&gt;" in message["text"]
    assert "Support &lt;b&gt;" in json.dumps(message["blocks"])
    assert "export" not in json.dumps(message)  # not cut


@pytest.mark.parametrize("length", [3001, 29_000, 200_000])
def test_a_long_text_is_cut_to_the_limits_with_the_export_command(length):
    text = ("x" * 99 + "&") * (length // 100) + "y" * (length % 100)
    message = reveal_message("support", "Support", "e-1", text)
    assert validate_blocks(message["blocks"]) == []
    sections = [b for b in message["blocks"] if b["type"] == "section"][1:]
    assert 1 < len(sections) <= REVEAL_SECTIONS and all(len(s["text"]["text"]) <= 3000 for s in sections)
    shown = "".join(s["text"]["text"] for s in sections)
    assert "&am" not in shown.replace("&amp;", "")  # no entity split
    note = json.dumps(message["blocks"][-1])
    if len(text) + text.count("&") * 4 > 3000 * REVEAL_SECTIONS - REVEAL_SECTIONS:
        assert f"{length:,} characters" in note and "labelbot export support -o items.csv" in note
    else:
        assert "export" not in note


def test_an_empty_text_shows_that_it_is_empty():
    message = reveal_message("support", "Support", "e-1", "")
    assert validate_blocks(message["blocks"]) == [] and "(empty)" in json.dumps(message["blocks"])


@pytest.mark.parametrize(
    ("line", "parsed"),
    [
        ("reveal e-1", LabelCommand("reveal", None, item="e-1")),
        ("REVEAL support #12", LabelCommand("reveal", "support", item="#12")),
        (
            "reveal",
            LabelCommand("reveal", problem="`/label reveal` takes an item, after a project key if you like."),
        ),
        (
            "reveal a b c",
            LabelCommand("reveal", problem="`/label reveal` takes an item, after a project key if you like."),
        ),
    ],
)
def test_reveal_takes_an_item_and_maybe_a_project(line, parsed):
    assert parse(line) == parsed
