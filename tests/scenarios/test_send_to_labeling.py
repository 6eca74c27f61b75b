""" "Send to labeling", the message shortcut, end to end through the Slack emulator: the modal, the
item and its metadata, the item posted and labeled, one item per message, private sources,
submitters, a permalink Slack will not give, escaping, files, and bad input answered in the modal."""

from __future__ import annotations

import json
import threading

import pytest
import yaml

from bot.slack import ids
from tests.scenarios.conftest import ANNOTATORS, CHANNEL, OUTSIDER, message_text, project_config, wait_items

GENERAL = "C0GENERAL"  # a public channel the bot is not in
SENDER = ANNOTATORS[0]  # submitters default to the annotators and admins


@pytest.fixture
def general(slack):
    slack.add_channel(GENERAL, "general", members=[*ANNOTATORS, OUTSIDER, "U0ADMIN"], bot_member=False)
    return GENERAL


def configure(bot, *projects):
    (bot.workdir / "labelbot.yml").write_text(yaml.safe_dump({"projects": list(projects)}, sort_keys=False))


def other_project(**overrides):
    return project_config(
        key="other",
        name="Other things",
        channel="C0OTHER",
        labels=[{"value": "spam", "text": "Spam"}, {"value": "ham", "text": "Ham"}],
        experts={"admins": ["U0ADMIN"]},
        **overrides,
    )


def open_modal(slack, user, channel, ts):
    """Use the shortcut on a message; the modal (or refusal) the bot opens for ``user``."""
    delivery = slack.message_shortcut(user, channel, ts, ids.SEND_TO_LABELING)
    assert delivery.acked and delivery.error is None
    (view,) = slack.wait_for(lambda: slack.open_views(user), timeout=10)
    return view


def view_text(view):
    return json.dumps(view["blocks"], ensure_ascii=False)


def send(slack, user, view, project="support", suggested=None, note=None):
    values = {"project": {"value": project}}
    if suggested:
        values["suggested"] = {"value": suggested}
    if note:
        values["note"] = {"value": note}
    return slack.submit_view(user, view["id"], values)


def export(bot, tmp_path, project="support"):
    out = tmp_path / f"export-{project}.jsonl"
    bot.cli("export", project, "-o", str(out))
    return [json.loads(line) for line in out.read_text().splitlines() if line]


def test_a_message_becomes_an_item_that_is_posted_and_labeled(bot, slack, general, tmp_path):
    posted = slack.user_posts(OUTSIDER, general, "Refund please <@U0ANN2> <!channel> &amp; a &lt;b&gt;")
    assert posted is None  # the bot is not in the channel: no event, yet the shortcut works there
    (source,) = slack.messages(general)
    bot.start()
    view = open_modal(slack, SENDER, general, source["ts"])
    assert view["callback_id"] == ids.VIEW_SEND_TO_LABELING
    assert "&lt;!channel&gt; &amp; a &lt;b&gt;" in view_text(view) and "<!channel>" not in view_text(view)
    done = send(slack, SENDER, view, suggested="support/billing", note="From the forum")
    assert done.error is None and done.body["response_action"] == "update"
    assert "queued for labeling" in view_text(slack.view(view["id"]))

    (item,) = wait_items(slack, 1)
    shown = message_text(item)
    # the text as typed, shown literally: no ping, no mention, the ampersand once
    assert "&lt;!channel&gt;" in shown and "&lt;@U0ANN2&gt;" in shown and "&amp; a &lt;b&gt;" in shown
    assert "<!channel>" not in shown and "<@U0ANN2>" not in shown and "&amp;amp;" not in shown
    for user in ANNOTATORS[:3]:
        slack.click(user, CHANNEL, item["ts"], "label:billing")
    slack.wait_for(lambda: export(bot, tmp_path)[0]["status"] == "resolved", timeout=20)
    (row,) = export(bot, tmp_path)
    assert row["item_id"] == f"slack:{GENERAL}:{source['ts']}"
    assert row["text"] == "Refund please <@U0ANN2> <!channel> & a <b>"
    assert (row["slack_channel"], row["slack_ts"], row["author"]) == (GENERAL, source["ts"], OUTSIDER)
    assert (row["submitted_by"], row["note"], row["suggested_label"]) == (SENDER, "From the forum", "billing")
    assert row["permalink"].startswith(f"https://labelbot-test.slack.com/archives/{GENERAL}/p")
    assert "submitted" in bot.cli("history", "support", row["item_id"]).stdout


def test_the_same_message_sent_twice_is_one_item(bot, slack, general, tmp_path):
    slack.user_posts(OUTSIDER, general, "Where is my invoice?")
    (source,) = slack.messages(general)
    bot.start(background=False)
    send(slack, SENDER, open_modal(slack, SENDER, general, source["ts"]), note="first")
    view = open_modal(slack, ANNOTATORS[1], general, source["ts"])
    again = send(slack, ANNOTATORS[1], view, note="second")
    assert again.error is None
    assert "already an item" in view_text(slack.view(view["id"])) and "queued" in view_text(
        slack.view(view["id"])
    )
    (row,) = export(bot, tmp_path)
    assert (row["note"], row["submitted_by"]) == ("first", SENDER)


@pytest.mark.parametrize("where", ["private channel", "private channel without the bot", "dm", "group dm"])
def test_private_sources_are_refused_unless_the_project_allows_them(bot, slack, tmp_path, where):
    if where == "dm":
        channel = slack.add_dm(SENDER, OUTSIDER)
    elif where == "group dm":
        channel = slack.add_group_dm([SENDER, OUTSIDER, ANNOTATORS[1]])
    else:
        channel = "C0SECRET"  # private channels made today have C ids too: only Slack can tell
        slack.add_channel(
            channel, "secret", members=[SENDER, OUTSIDER], is_private=True, bot_member="bot" not in where
        )
    slack.user_posts(OUTSIDER, channel, "salary figures for the team", deliver=False)
    (source,) = slack.messages(channel)
    bot.start(background=False)
    refusal = open_modal(slack, SENDER, channel, source["ts"])
    assert not refusal.get("submit") and "allow_private_sources" in view_text(refusal)
    assert "salary" not in view_text(refusal)
    assert export(bot, tmp_path) == []

    bot.stop()
    configure(bot, project_config(allow_private_sources=True))
    slack.close_view(SENDER, refusal["id"])
    bot.start(background=False)
    view = open_modal(slack, SENDER, channel, source["ts"])
    assert send(slack, SENDER, view).error is None
    (row,) = export(bot, tmp_path)
    assert row["text"] == "salary figures for the team" and row["slack_channel"] == channel
    if where in ("private channel",):
        assert row["permalink"]  # the bot is in it: Slack gives a permalink
    else:
        assert "permalink" not in row  # a conversation the bot cannot see: made without it


def test_one_private_project_among_others_is_the_only_choice(bot, slack, tmp_path):
    channel = slack.add_dm(SENDER, OUTSIDER)
    slack.user_posts(OUTSIDER, channel, "a private thought", deliver=False)
    (source,) = slack.messages(channel)
    slack.add_channel("C0OTHER", "other")
    configure(bot, project_config(), other_project(allow_private_sources=True))
    bot.start(background=False)
    view = open_modal(slack, SENDER, channel, source["ts"])
    project_block = next(b for b in view["blocks"] if b.get("block_id") == "project")
    assert [o["value"] for o in project_block["element"]["options"]] == ["other"]
    assert send(slack, SENDER, view, project="other").error is None
    assert len(export(bot, tmp_path, "other")) == 1 and export(bot, tmp_path) == []


def test_who_may_send_and_to_which_projects(bot, slack, general, tmp_path):
    slack.user_posts(OUTSIDER, general, "Spam or not?")
    (source,) = slack.messages(general)
    slack.add_channel("C0OTHER", "other")
    configure(bot, project_config(), other_project(submitters=[OUTSIDER]))
    bot.start(background=False)

    def offered(user):
        view = open_modal(slack, user, general, source["ts"])
        block = next(b for b in view["blocks"] if b.get("block_id") == "project")
        slack.close_view(user, view["id"])
        return [o["value"] for o in block["element"]["options"]]

    assert offered(SENDER) == ["support"]  # an annotator of support, not a submitter of other
    assert offered(OUTSIDER) == ["other"]
    assert offered("U0ADMIN") == ["support"]  # admins submit by default
    assert offered("U0GRPANN") == ["support"]  # a member of the annotators' user group
    slack.add_user("U0NOBODY", "nobody")
    slack.join_channel("U0NOBODY", general, notify=False)
    refusal = open_modal(slack, "U0NOBODY", general, source["ts"])
    assert not refusal.get("submit") and "You may not send messages" in view_text(refusal)


def test_a_permalink_slack_will_not_give_does_not_stop_the_item(bot, slack, general, tmp_path):
    slack.user_posts(OUTSIDER, general, "Please look at this")
    (source,) = slack.messages(general)
    bot.start(background=False)
    slack.fail_next("chat.getPermalink", status=200, error="channel_not_found")
    send(slack, SENDER, open_modal(slack, SENDER, general, source["ts"]))
    (row,) = export(bot, tmp_path)
    assert "permalink" not in row and row["slack_ts"] == source["ts"]
    assert [c.error for c in slack.calls_to("chat.getPermalink")] == ["channel_not_found"]


def test_files_are_noted_not_copied(bot, slack, general, tmp_path):
    slack.user_posts(OUTSIDER, general, "", files=["invoice.pdf", "screen.png"])
    (source,) = slack.messages(general)
    bot.start()
    view = open_modal(slack, SENDER, general, source["ts"])
    assert "invoice.pdf" in view_text(view) and "not copied" in view_text(view)
    send(slack, SENDER, view)
    (item,) = wait_items(slack, 1)
    assert "(no text; 2 files)" in message_text(item)
    (row,) = export(bot, tmp_path)
    assert (row["files"], row["file_count"]) == (["invoice.pdf", "screen.png"], 2)
    assert not any(c.method.startswith("files.") for c in slack.calls)  # nothing downloaded or shared


def test_a_label_of_another_project_is_refused_in_the_modal(bot, slack, general, tmp_path):
    slack.user_posts(OUTSIDER, general, "Which project?")
    (source,) = slack.messages(general)
    slack.add_channel("C0OTHER", "other")
    configure(bot, project_config(), other_project(submitters=[SENDER]))
    bot.start(background=False)
    view = open_modal(slack, SENDER, general, source["ts"])
    bad = send(slack, SENDER, view, project="support", suggested="other/spam")
    assert (
        bad.body["response_action"] == "errors"
        and "Support tickets's labels" in bad.body["errors"]["suggested"]
    )
    assert slack.view_is_open(view["id"]) and export(bot, tmp_path) == []
    good = send(slack, SENDER, view, project="other", suggested="other/spam")
    assert good.error is None
    (row,) = export(bot, tmp_path, "other")
    assert row["suggested_label"] == "spam"


def test_the_shortcut_is_only_where_the_manifest_and_slack_put_it(bot, slack, general):
    slack.user_posts(OUTSIDER, general, "hello")
    (source,) = slack.messages(general)
    slack.add_channel("C0SECRET", "secret", members=[OUTSIDER], is_private=True)
    slack.user_posts(OUTSIDER, "C0SECRET", "not for you", deliver=False)
    (secret,) = slack.messages("C0SECRET")
    bot.start(background=False)
    with pytest.raises(LookupError, match="no message shortcut"):
        slack.message_shortcut(SENDER, general, source["ts"], "some_other_shortcut")
    with pytest.raises(LookupError, match="cannot see"):
        slack.message_shortcut(SENDER, "C0SECRET", secret["ts"], ids.SEND_TO_LABELING)


def test_the_rules_are_checked_again_when_the_modal_is_sent(bot, slack, general, tmp_path):
    slack.user_posts(OUTSIDER, general, "public words")
    (public,) = slack.messages(general)
    other = ANNOTATORS[1]
    dm = slack.add_dm(other, OUTSIDER)
    slack.user_posts(OUTSIDER, dm, "private words", deliver=False)
    (private,) = slack.messages(dm)
    configure(bot, project_config(allow_private_sources=True))
    bot.start(background=False)
    first = open_modal(slack, SENDER, general, public["ts"])
    second = open_modal(slack, other, dm, private["ts"])
    bot.stop()  # the configuration changes while the modals are open
    configure(bot, project_config(submitters=[OUTSIDER, other]))
    bot.start(background=False)
    refused = slack.submit_view(SENDER, first["id"], {"project": {"value": "support"}})
    assert "You may not send messages" in refused.body["errors"]["project"]
    refused = slack.submit_view(other, second["id"], {"project": {"value": "support"}})
    assert "direct message" in refused.body["errors"]["project"]
    assert export(bot, tmp_path) == []


def test_two_sends_of_one_message_at_once_make_one_item(bot, slack, general, tmp_path):
    slack.user_posts(OUTSIDER, general, "race me")
    (source,) = slack.messages(general)
    bot.start(background=False)
    views = {user: open_modal(slack, user, general, source["ts"]) for user in ANNOTATORS[:2]}
    barrier = threading.Barrier(2)
    done = {}

    def submit(user):
        barrier.wait()
        done[user] = send(slack, user, views[user], note=user)

    threads = [threading.Thread(target=submit, args=(user,)) for user in views]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(d.error is None for d in done.values())
    texts = [view_text(slack.view(v["id"])) for v in views.values()]
    assert sorted("already an item" in t for t in texts) == [False, True]
    (row,) = export(bot, tmp_path)
    assert row["note"] == row["submitted_by"]
