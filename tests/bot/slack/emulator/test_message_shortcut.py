"""The emulator's message shortcuts, direct messages between people, shared files, and
chat.getPermalink's errors, as Slack has them."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack.emulator import SlackEmulator
from tests.bot.slack.emulator.test_emulator import Recorder


@pytest.fixture
def emu() -> Iterator[SlackEmulator]:
    emulator = SlackEmulator(rate_limits="off")
    for user, name in (("U1", "alice"), ("U2", "bob"), ("U3", "carol")):
        emulator.add_user(user, name)
    emulator.add_channel("C1", "labeling", members=["U1", "U2"])
    emulator.add_channel("C2", "secret", members=["U1"], is_private=True, bot_member=False)
    emulator.add_channel("C3", "random", members=["U1"], bot_member=False)
    emulator.message_shortcuts = {"send_to_labeling"}
    with emulator:
        yield emulator


@pytest.fixture
def client(emu: SlackEmulator) -> WebClient:
    return WebClient(token=emu.bot_token, base_url=emu.api_url)


@pytest.fixture
def app(emu: SlackEmulator) -> Iterator[Recorder]:
    recorder = Recorder()
    emu.deliver_to_http(recorder.url)
    yield recorder
    recorder.close()


def api_error(call: Callable[[], Any]) -> str:
    with pytest.raises(SlackApiError) as info:
        call()
    return str(info.value.response["error"])


def test_a_message_shortcut_sends_the_whole_message_as_slack_does(emu: SlackEmulator, app: Recorder) -> None:
    emu.user_posts("U1", "C3", "look at this", files=["a.png"], attachments=[{"fallback": "a link"}])
    (message,) = emu.messages("C3")
    delivery = emu.message_shortcut("U2", "C3", message["ts"], "send_to_labeling")  # public: anyone sees it
    payload = json.loads(parse_qs(app.requests[-1]["body"])["payload"][0])
    assert delivery.acked and payload == delivery.payload
    assert list(payload) == [
        "type",
        "token",
        "action_ts",
        "team",
        "user",
        "channel",
        "is_enterprise_install",
        "enterprise",
        "callback_id",
        "trigger_id",
        "response_url",
        "message_ts",
        "message",
    ]
    assert (payload["type"], payload["callback_id"], payload["message_ts"]) == (
        "message_action",
        "send_to_labeling",
        message["ts"],
    )
    assert payload["channel"] == {"id": "C3", "name": "random"} and payload["user"]["id"] == "U2"
    assert payload["response_url"].startswith(emu.base_url + "actions/")
    shared = payload["message"]
    assert (shared["user"], shared["text"], shared["subtype"]) == ("U1", "look at this", "file_share")
    assert [f["name"] for f in shared["files"]] == ["a.png"] and shared["attachments"] == [
        {"fallback": "a link"}
    ]
    # the trigger opens a modal, once
    client = WebClient(token=emu.bot_token, base_url=emu.api_url)
    view = {"type": "modal", "title": {"type": "plain_text", "text": "x"}, "blocks": []}
    client.views_open(trigger_id=payload["trigger_id"], view=view)
    assert api_error(lambda: client.views_open(trigger_id=payload["trigger_id"], view=view)) == (
        "exchanged_trigger_id"
    )


def test_only_declared_shortcuts_on_messages_the_user_can_see(emu: SlackEmulator, app: Recorder) -> None:
    emu.user_posts("U1", "C2", "secret", deliver=False)
    (secret,) = emu.messages("C2")
    with pytest.raises(LookupError, match="cannot see"):
        emu.message_shortcut("U2", "C2", secret["ts"], "send_to_labeling")
    with pytest.raises(LookupError, match="no message shortcut"):
        emu.message_shortcut("U1", "C2", secret["ts"], "another")
    with pytest.raises(LookupError, match="no message"):
        emu.message_shortcut("U1", "C2", "1.000001", "send_to_labeling")
    assert emu.message_shortcut("U1", "C2", secret["ts"], "send_to_labeling").acked
    assert app.requests and len(app.requests) == 1


def test_dms_between_people_are_invisible_to_the_bot(
    emu: SlackEmulator, client: WebClient, app: Recorder
) -> None:
    dm, group = emu.add_dm("U1", "U2"), emu.add_group_dm(["U1", "U2", "U3"])
    assert dm.startswith("D") and group.startswith("G")
    assert emu.dm_channel("U1") != dm  # the app's own DM with U1 is another conversation
    for channel in (dm, group):
        assert emu.user_posts("U1", channel, "between us") is None  # no event: the bot is not in it
        (message,) = emu.messages(channel)
        assert api_error(lambda c=channel: client.conversations_info(channel=c)) == "channel_not_found"
        assert (
            api_error(lambda c=channel, m=message: client.chat_getPermalink(channel=c, message_ts=m["ts"]))
            == "channel_not_found"
        )
        with pytest.raises(LookupError):
            emu.message_shortcut(
                "U3" if channel == dm else "U0NONE", channel, message["ts"], "send_to_labeling"
            )
        assert emu.message_shortcut("U2", channel, message["ts"], "send_to_labeling").acked
    assert [json.loads(parse_qs(r["body"])["payload"][0])["channel"]["name"] for r in app.requests] == [
        "directmessage",
        "mpdm-alice--bob--carol-1",
    ]


def test_get_permalink_answers_as_slack(emu: SlackEmulator, client: WebClient) -> None:
    emu.user_posts("U1", "C3", "public, bot not in it", deliver=False)
    (message,) = emu.messages("C3")
    link = client.chat_getPermalink(channel="C3", message_ts=message["ts"])["permalink"]
    assert link == f"https://labelbot-test.slack.com/archives/C3/p{message['ts'].replace('.', '')}"
    assert (
        api_error(lambda: client.chat_getPermalink(channel="C3", message_ts="1.000001"))
        == "message_not_found"
    )
    assert api_error(lambda: client.chat_getPermalink(channel="C2", message_ts=message["ts"])) == (
        "channel_not_found"  # a private channel the bot is not in
    )
