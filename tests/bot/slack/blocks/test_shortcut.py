"""The Send to labeling modal and its metadata, pure: valid Block Kit, only the given projects,
label options that name their project, and metadata that survives the round trip and nothing else."""

from __future__ import annotations

import base64
import json
import random
import string
import zlib

from bot.config import parse_config
from bot.message_items import Sent, SlackMessage, SourceKind
from bot.slack import ids
from bot.slack.blocks.shortcut import (
    label_option,
    read_label_option,
    refusal_modal,
    send_modal,
    sent_modal,
)
from bot.slack.emulator.blockkit import validate_view
from bot.slack.message_action import METADATA_MAX, decode_message, encode_message, read_message_action
from tests.bot.conftest import LABELS

MESSAGE = SlackMessage(
    "C1", "1700000000.000001", "a <@U1> &amp; <!here>", SourceKind.CHANNEL, "U9", ("x.pdf",)
)


def projects(*keys, label=None):
    labels = LABELS if label is None else [*LABELS, {"value": label, "text": "Long"}]
    return parse_config(
        {
            "projects": [
                {
                    "key": k,
                    "name": k.title(),
                    "channel": f"C0{i}",
                    "labels": labels,
                    "experts": {"admins": ["U0A"]},
                }
                for i, k in enumerate(keys)
            ]
        }
    ).projects


def test_one_project_is_chosen_already_and_its_labels_are_plain_options():
    (project,) = projects("support")
    view = send_modal([project], MESSAGE, "meta")
    assert validate_view(view) == [] and view["callback_id"] == ids.VIEW_SEND_TO_LABELING
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    assert blocks["project"]["element"]["initial_option"]["value"] == "support"
    assert [o["value"] for o in blocks["suggested"]["element"]["options"]] == [
        "support/billing",
        "support/bug",
        "support/other",
    ]
    assert blocks["suggested"]["optional"] and blocks["note"]["optional"]
    shown = json.dumps(view["blocks"])
    # the text as typed (Slack's escaping undone), escaped once: shown literally
    assert "a &lt;@U1&gt; &amp; &lt;!here&gt;" in shown and "<!here>" not in shown and "x.pdf" in shown


def test_several_projects_group_their_labels():
    view = send_modal(projects("support", "fraud"), MESSAGE, "meta")
    assert validate_view(view) == []
    (suggested,) = [b for b in view["blocks"] if b.get("block_id") == "suggested"]
    groups = suggested["element"]["option_groups"]
    assert [g["label"]["text"] for g in groups] == ["Support", "Fraud"]
    assert groups[1]["options"][0]["value"] == "fraud/billing"
    assert (
        "initial_option" not in next(b for b in view["blocks"] if b.get("block_id") == "project")["element"]
    )


def test_label_options_fit_slack_and_read_back():
    long_label = "l" * 150
    ps = projects("k" * 60, "short", label=long_label)
    long_project = ps[0]
    value = label_option(long_project, 3)
    assert value == f"{'k' * 60}/#3" and len(value) <= 150
    assert read_label_option(value, ps) == ("k" * 60, long_label)
    assert read_label_option(label_option(ps[1], 0), ps) == ("short", "billing")
    for bad in ("nope/billing", "short", f"{'k' * 60}/#99", ""):
        assert read_label_option(bad, ps) is None
    assert validate_view(send_modal(ps, MESSAGE, "m")) == []


def test_refusal_and_confirmation_are_valid_and_escaped():
    (project,) = projects("support")
    assert validate_view(refusal_modal("no <!channel> here")) == []
    assert "&lt;!channel&gt;" in json.dumps(refusal_modal("no <!channel> here"))
    done = sent_modal(project, Sent(1, "slack:C1:1.2", created=True, status="queued"))
    again = sent_modal(project, Sent(1, "slack:C1:1.2", created=False, status="open"))
    assert validate_view(done) == [] and "queued for labeling" in json.dumps(done)
    assert "already an item" in json.dumps(again) and "open" in json.dumps(again)


def test_metadata_round_trip_and_refuses_anything_else():
    full = SlackMessage("C1", "1.2", "x" * 2000, SourceKind.IM, None, ("a", "b"), 2, "1.1", "https://l")
    assert decode_message(encode_message(full)) == full
    assert decode_message(encode_message(MESSAGE)) == MESSAGE
    random_text = "".join(random.Random(0).choices(string.ascii_letters, k=5000))  # does not compress
    assert encode_message(SlackMessage("C1", "1.2", random_text, SourceKind.CHANNEL)) is None

    def packed(value):
        return base64.urlsafe_b64encode(zlib.compress(json.dumps(value).encode())).decode()

    fields = ["C1", "1.2", "t", "channel", None, [], 0, None, None]
    assert decode_message(packed(fields)) is not None
    bomb = base64.urlsafe_b64encode(zlib.compress(b"[" * 2_000_000)).decode()
    assert len(bomb) <= METADATA_MAX
    for bad in (
        None,
        "",
        "not base64!",
        packed(fields[:-1]),
        packed([*fields[:3], "secret", *fields[4:]]),
        packed([*fields[:6], -1, *fields[7:]]),
        packed([*fields[:5], [1], *fields[6:]]),
        bomb,
        "x" * (METADATA_MAX + 1),
    ):
        assert decode_message(bad) is None, bad


def test_reading_a_message_action():
    body = {
        "type": "message_action",
        "channel": {"id": "C1", "name": "general"},
        "message_ts": "1.2",
        "message": {
            "type": "message",
            "bot_id": "B1",
            "ts": "1.2",
            "thread_ts": "1.1",
            "files": [{"name": "a.png"}, {"title": "untitled"}, "junk"],
            "attachments": [{}],
        },
    }
    message = read_message_action(body)
    assert message == SlackMessage("C1", "1.2", "", SourceKind.UNKNOWN, "B1", ("a.png", "untitled"), 1, "1.1")
    assert read_message_action({**body, "channel": "C1"}) is None
    assert read_message_action({**body, "message": {"text": "no ts"}, "message_ts": None}) is None
