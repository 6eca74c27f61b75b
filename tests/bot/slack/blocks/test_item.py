import json

import pytest

from bot.cards import ItemCard
from bot.config import parse_config
from bot.guidelines import EdgeCase
from bot.slack import ids
from bot.slack.blocks.item import item_message, label_confirmation
from bot.slack.blocks.modals import full_text_modal, guidelines_modal
from bot.slack.emulator.blockkit import validate_blocks, validate_view

HOSTILE = "<!channel> hi <@U123> see <http://evil.example|your bank> & http://bare.example.com > ok"


def make_project(n_labels=3, **extra):
    labels = [{"value": f"l{i}", "text": f"Label {i}", "description": f"about {i}"} for i in range(n_labels)]
    raw = {
        "projects": [
            {
                "key": "p",
                "name": "P & Co",
                "channel": "C0123ABCD",
                "labels": labels,
                "fields": ["lang", "customer"],
                "experts": {"admins": ["U0ADMIN"]},
                **extra,
            }
        ]
    }
    return parse_config(raw).projects[0]


def card(text="hello", **kw):
    base = dict(
        item_id=7,
        external_id="ext-1",
        round=1,
        text=text,
        status="open",
        n_labels=1,
        needed=3,
        meta={"lang": "de", "customer": "<!here>"},
    )
    base.update(kw)
    return ItemCard(**base)


def all_texts(payload):
    return json.dumps(payload)


def test_open_item_has_buttons_progress_and_is_valid():
    msg = item_message(card(), make_project())
    assert validate_blocks(msg["blocks"]) == []
    actions = [e for b in msg["blocks"] if b["type"] == "actions" for e in b["elements"]]
    ids_ = [e["action_id"] for e in actions]
    assert ids_[:3] == ["label:l0", "label:l1", "label:l2"]
    assert {ids.SKIP, ids.GUIDELINES, ids.ESCALATE} <= set(ids_)
    assert all(e["value"] == "7:1" for e in actions)
    assert "1 of 3 labels" in all_texts(msg)


def test_progress_never_shows_what_others_chose():
    msg = item_message(card(n_labels=2), make_project())
    context = next(b for b in msg["blocks"] if b["type"] == "context")
    assert "Label" not in json.dumps(context)


def test_more_than_five_labels_use_a_select():
    msg = item_message(card(), make_project(n_labels=6))
    assert validate_blocks(msg["blocks"]) == []
    selects = [
        e
        for b in msg["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["type"] == "static_select"
    ]
    assert len(selects) == 1 and len(selects[0]["options"]) == 6


def test_hundred_labels_fit_a_select():
    msg = item_message(card(), make_project(n_labels=100))
    assert validate_blocks(msg["blocks"]) == []


def test_hostile_text_is_escaped_everywhere():
    msg = item_message(card(text=HOSTILE), make_project())
    assert validate_blocks(msg["blocks"]) == []
    dumped = all_texts(msg)
    for raw in ("<!channel>", "<@U123>", "<http://evil", "<!here>"):
        assert raw not in dumped
    assert "&lt;!channel&gt;" in msg["text"]
    section = msg["blocks"][0]["text"]
    assert section["verbatim"] is True
    assert "&lt;http://evil.example|your bank&gt; &amp;" in section["text"]
    assert "P &amp; Co" in msg["text"]


def test_long_text_is_cut_with_full_text_button():
    text = "&" * 5000
    msg = item_message(card(text=text), make_project())
    assert validate_blocks(msg["blocks"]) == []
    body = msg["blocks"][0]["text"]["text"]
    assert len(body) <= 3000 and body.endswith("…")
    assert body[:-1].replace("&amp;", "") == ""  # never cuts an entity in half
    action_ids = [e["action_id"] for b in msg["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert ids.FULL_TEXT in action_ids


def test_resolved_item_has_no_label_buttons():
    msg = item_message(
        card(status="resolved", final_label="l1", resolution="consensus", agreement=2 / 3), make_project()
    )
    assert validate_blocks(msg["blocks"]) == []
    assert not [b for b in msg["blocks"] if b["type"] == "actions"]
    assert "Label 1" in all_texts(msg) and "67%" in all_texts(msg)


def test_escalated_and_sent_back_states():
    project = make_project()
    assert "Escalated" in all_texts(item_message(card(status="escalated"), project))
    sent = item_message(card(sent_back=True), project)
    assert "sent back" in all_texts(sent)
    assert not [b for b in sent["blocks"] if b["type"] == "actions"]


def test_suggestion_hidden_from_annotators_by_default():
    c = card(suggestion=("l2", 0.82))
    assert "Suggested" not in all_texts(item_message(c, make_project()))
    shown = item_message(c, make_project(model={"show_to_annotators": True}))
    assert "Suggested: *Label 2* (82%)" in all_texts(shown)


def test_confirmation_has_undo_only_while_open():
    project = make_project()
    with_undo = label_confirmation(card(), project.labels[0], can_undo=True)
    assert validate_blocks(with_undo["blocks"]) == []
    assert "ext-1" in with_undo["text"] and "Label 0" in with_undo["text"]
    assert ids.UNDO in all_texts(with_undo)
    assert ids.UNDO not in all_texts(label_confirmation(card(), project.labels[0], can_undo=False))


@pytest.mark.parametrize("length", [10, 3000, 10_000, 400_000])
def test_full_text_modal_is_valid(length):
    view = full_text_modal(make_project(), "x" * 300, ("word <b> " * length)[:length])
    assert validate_view(view) == []


def test_guidelines_modal_converts_markdown_and_lists_edge_cases():
    project = make_project(guidelines="# Rules\n\nUse **billing** for [payments](https://x.example).\n")
    view = guidelines_modal(project, [EdgeCase("<!channel> odd", "l1", "because & so")])
    assert validate_view(view) == []
    dumped = json.dumps(view)
    assert "*Rules*" in dumped and "<https://x.example|payments>" in dumped
    assert "&lt;!channel&gt; odd" in dumped and "because &amp; so" in dumped
