"""Tests for the Slack emulator itself: Web API behaviour, deliveries, Socket Mode, files, limits."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from slack_bolt import App, BoltRequest
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect as websocket_connect

from bot.slack.emulator import SlackEmulator
from bot.slack.emulator.signing import sign, signed_headers

BUTTONS = [
    {"type": "section", "block_id": "item", "text": {"type": "mrkdwn", "text": "Is this a cat?"}},
    {
        "type": "actions",
        "block_id": "labels",
        "elements": [
            {
                "type": "button",
                "action_id": "label",
                "text": {"type": "plain_text", "text": "Cat"},
                "value": "cat",
            },
            {
                "type": "button",
                "action_id": "label_dog",
                "text": {"type": "plain_text", "text": "Dog"},
                "value": "dog",
            },
            {
                "type": "static_select",
                "action_id": "pick",
                "placeholder": {"type": "plain_text", "text": "Other"},
                "options": [
                    {"text": {"type": "plain_text", "text": t}, "value": t} for t in ("bird", "fish")
                ],
            },
        ],
    },
]

MODAL = {
    "type": "modal",
    "callback_id": "label_modal",
    "title": {"type": "plain_text", "text": "Label"},
    "submit": {"type": "plain_text", "text": "Save"},
    "private_metadata": "item-42",
    "blocks": [
        {
            "type": "input",
            "block_id": "why",
            "label": {"type": "plain_text", "text": "Why?"},
            "element": {"type": "plain_text_input", "action_id": "text"},
        },
        {
            "type": "input",
            "block_id": "conf",
            "label": {"type": "plain_text", "text": "Confidence"},
            "element": {
                "type": "static_select",
                "action_id": "level",
                "options": [{"text": {"type": "plain_text", "text": t}, "value": t} for t in ("low", "high")],
            },
        },
        {
            "type": "input",
            "block_id": "opt",
            "optional": True,
            "label": {"type": "plain_text", "text": "Note"},
            "element": {"type": "plain_text_input", "action_id": "note"},
        },
        {
            "type": "actions",
            "block_id": "tools",
            "elements": [
                {"type": "button", "action_id": "hint", "text": {"type": "plain_text", "text": "Hint"}}
            ],
        },
    ],
}


@pytest.fixture
def emu() -> Iterator[SlackEmulator]:
    emulator = SlackEmulator(rate_limits="off")
    emulator.add_user("U1", "alice")
    emulator.add_user("U2", "bob")
    emulator.add_user("U3", "carol")
    emulator.add_channel("C1", "labeling", members=["U1", "U2"])
    emulator.add_channel("C2", "secret", members=["U1"], is_private=True, bot_member=False)
    emulator.add_channel("C3", "random", members=["U1"], bot_member=False)
    emulator.add_usergroup("S1", "experts", ["U2", "U3"])
    with emulator:
        yield emulator


@pytest.fixture
def client(emu: SlackEmulator) -> WebClient:
    return WebClient(token=emu.bot_token, base_url=emu.api_url)


def api_error(call: Callable[[], Any]) -> dict[str, Any]:
    with pytest.raises(SlackApiError) as info:
        call()
    return info.value.response.data  # type: ignore[no-any-return]


# ---------------------------------------------------------------- auth & transport


def test_auth_test_and_token_errors(emu: SlackEmulator, client: WebClient) -> None:
    resp = client.auth_test()
    assert (resp["team_id"], resp["user_id"], resp["bot_id"]) == ("T0001", "UBOT", "B0001")
    assert "chat:write" in resp.headers["x-oauth-scopes"]

    assert api_error(WebClient(token="xoxb-wrong", base_url=emu.api_url).auth_test)["error"] == "invalid_auth"
    assert api_error(WebClient(base_url=emu.api_url).auth_test)["error"] == "not_authed"
    app_client = WebClient(token=emu.app_token, base_url=emu.api_url)
    assert api_error(app_client.auth_test)["error"] == "not_allowed_token_type"
    assert (
        api_error(lambda: client.apps_connections_open(app_token=emu.bot_token))["error"]
        == "not_allowed_token_type"
    )
    assert api_error(lambda: client.api_call("no.such.method"))["error"] == "unknown_method"
    emu.revoke_token(emu.bot_token)
    assert api_error(client.auth_test)["error"] == "token_revoked"


def test_form_get_and_json_bodies(emu: SlackEmulator) -> None:
    form = httpx.post(emu.api_url + "conversations.info", data={"token": emu.bot_token, "channel": "C1"})
    assert form.status_code == 200 and form.json()["channel"]["name"] == "labeling"
    get = httpx.get(emu.api_url + "conversations.info", params={"token": emu.bot_token, "channel": "C1"})
    assert get.json()["channel"]["id"] == "C1"
    # Slack ignores a token inside a JSON body: it must come as a Bearer header.
    body = httpx.post(emu.api_url + "auth.test", json={"token": emu.bot_token})
    assert body.json() == {"ok": False, "error": "not_authed"}
    header = httpx.post(
        emu.api_url + "auth.test", json={}, headers={"Authorization": f"Bearer {emu.bot_token}"}
    )
    assert header.json()["ok"] is True


def test_calls_are_recorded_with_decoded_params(emu: SlackEmulator, client: WebClient) -> None:
    client.chat_postMessage(channel="C1", text="t", blocks=BUTTONS)
    call = emu.calls_to("chat.postMessage")[-1]
    assert call.ok and call.status == 200 and call.token == emu.bot_token
    assert call.params["blocks"][0]["block_id"] == "item"
    assert call["response"]["channel"] == "C1"


# ---------------------------------------------------------------- chat.*


def test_post_message_shape_and_ts(emu: SlackEmulator, client: WebClient) -> None:
    r1 = client.chat_postMessage(channel="C1", text="first", blocks=BUTTONS)
    r2 = client.chat_postMessage(channel="#labeling", text="second")
    assert r1["channel"] == r2["channel"] == "C1"
    assert float(r2["ts"]) > float(r1["ts"]) and len(r1["ts"].split(".")[1]) == 6
    msg = r1["message"]
    assert (msg["bot_id"], msg["user"], msg["app_id"], msg["type"]) == ("B0001", "UBOT", "A0001", "message")
    assert msg["blocks"][1]["elements"][0]["text"]["emoji"] is True  # normalised like Slack
    assert [m["text"] for m in emu.messages("C1")] == ["first", "second"]


def test_post_message_errors(emu: SlackEmulator, client: WebClient) -> None:
    assert (
        api_error(lambda: client.chat_postMessage(channel="C404", text="x"))["error"] == "channel_not_found"
    )
    # private channel the bot is not in is invisible; public one says not_in_channel
    assert api_error(lambda: client.chat_postMessage(channel="C2", text="x"))["error"] == "channel_not_found"
    assert api_error(lambda: client.chat_postMessage(channel="C3", text="x"))["error"] == "not_in_channel"
    assert (
        api_error(lambda: client.chat_postMessage(channel="C1", text="x" * 40_001))["error"] == "msg_too_long"
    )
    assert (
        api_error(lambda: client.api_call("chat.postMessage", params={"channel": "C1"}))["error"] == "no_text"
    )
    bad_format = client.api_call
    assert (
        api_error(lambda: bad_format("chat.postMessage", params={"channel": "C1", "blocks": "{nope"}))[
            "error"
        ]
        == "invalid_blocks_format"
    )
    data = api_error(
        lambda: client.chat_postMessage(channel="C1", text="x", blocks=[{"type": "section"}] * 51)
    )
    assert data["error"] == "invalid_blocks"
    assert "no more than 50 items allowed [json-pointer:/blocks]" in data["errors"]
    assert data["response_metadata"]["messages"][0].startswith("[ERROR] ")
    assert (
        api_error(lambda: client.chat_postMessage(channel="C1", text="x", thread_ts="1.000001"))["error"]
        == "thread_not_found"
    )
    assert emu.messages("C1") == []


def test_post_message_to_user_opens_dm(emu: SlackEmulator, client: WebClient) -> None:
    r = client.chat_postMessage(channel="U2", text="your turn")
    assert r["channel"].startswith("D") and r["channel"] == emu.dm_channel("U2")
    assert emu.messages(r["channel"])[0]["text"] == "your turn"


def test_threads_and_metadata(emu: SlackEmulator, client: WebClient) -> None:
    meta = {"event_type": "item_posted", "event_payload": {"item_id": 42}}
    parent = client.chat_postMessage(channel="C1", text="item", metadata=meta)
    assert parent["message"]["metadata"] == meta
    reply = client.chat_postMessage(channel="C1", text="reply", thread_ts=parent["ts"])
    assert reply["message"]["thread_ts"] == parent["ts"]
    stored = emu.message("C1", parent["ts"])
    assert stored is not None and stored["reply_count"] == 1 and stored["latest_reply"] == reply["ts"]
    assert [m["text"] for m in emu.thread("C1", parent["ts"])] == ["item", "reply"]
    assert [m["text"] for m in emu.messages("C1")] == ["item"]

    plain = client.conversations_history(channel="C1")["messages"]
    assert "metadata" not in plain[0]
    full = client.conversations_history(channel="C1", include_all_metadata=True)["messages"]
    assert full[0]["metadata"] == meta
    replies = client.conversations_replies(channel="C1", ts=parent["ts"])["messages"]
    assert [m["ts"] for m in replies] == [parent["ts"], reply["ts"]]
    assert (
        api_error(lambda: client.conversations_replies(channel="C1", ts="1.000000"))["error"]
        == "thread_not_found"
    )


def test_update_and_delete(emu: SlackEmulator, client: WebClient) -> None:
    r = client.chat_postMessage(channel="C1", text="v1", blocks=BUTTONS)
    up = client.chat_update(channel="C1", ts=r["ts"], text="v2")
    assert up["text"] == "v2" and up["message"]["edited"]["user"] == "UBOT"
    assert len(emu.message("C1", r["ts"])["blocks"]) == 2  # blocks kept when omitted
    client.chat_update(channel="C1", ts=r["ts"], text="v3", blocks=[])
    assert "blocks" not in emu.message("C1", r["ts"])
    too_long = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]
    assert (
        api_error(lambda: client.chat_update(channel="C1", ts=r["ts"], text="v4", blocks=too_long))["error"]
        == "invalid_blocks"
    )
    assert (
        api_error(lambda: client.chat_update(channel="C1", ts="1.000000", text="x"))["error"]
        == "message_not_found"
    )
    assert emu.user_posts("U1", "C1", "mine", deliver=False) is None  # seeds history, no app needed
    human_ts = emu.messages("C1")[-1]["ts"]
    assert (
        api_error(lambda: client.chat_update(channel="C1", ts=human_ts, text="x"))["error"]
        == "cant_update_message"
    )
    assert api_error(lambda: client.chat_delete(channel="C1", ts=human_ts))["error"] == "cant_delete_message"
    client.chat_delete(channel="C1", ts=r["ts"])
    assert emu.message("C1", r["ts"]) is None
    assert api_error(lambda: client.chat_delete(channel="C1", ts=r["ts"]))["error"] == "message_not_found"


def test_deleting_a_parent_leaves_a_tombstone(emu: SlackEmulator, client: WebClient) -> None:
    parent = client.chat_postMessage(channel="C1", text="p")
    client.chat_postMessage(channel="C1", text="r", thread_ts=parent["ts"])
    client.chat_delete(channel="C1", ts=parent["ts"])
    assert emu.message("C1", parent["ts"])["subtype"] == "tombstone"
    assert len(emu.thread("C1", parent["ts"])) == 2


def test_post_ephemeral_and_permalink(emu: SlackEmulator, client: WebClient) -> None:
    r = client.chat_postEphemeral(channel="C1", user="U1", text="only you", blocks=BUTTONS)
    eph = emu.ephemerals("U1")
    assert len(eph) == 1 and eph[0]["ts"] == r["message_ts"] and eph[0]["channel"] == "C1"
    assert emu.ephemerals("U2") == [] and emu.messages("C1") == []
    assert (
        api_error(lambda: client.chat_postEphemeral(channel="C1", user="U3", text="x"))["error"]
        == "user_not_in_channel"
    )
    posted = client.chat_postMessage(channel="C1", text="x")
    link = client.chat_getPermalink(channel="C1", message_ts=posted["ts"])["permalink"]
    assert link.endswith("/archives/C1/p" + posted["ts"].replace(".", ""))


# ---------------------------------------------------------------- conversations / users / groups


def test_history_pagination_and_ranges(emu: SlackEmulator, client: WebClient) -> None:
    ts = [client.chat_postMessage(channel="C1", text=str(i))["ts"] for i in range(5)]
    page1 = client.conversations_history(channel="C1", limit=2)
    assert [m["text"] for m in page1["messages"]] == ["4", "3"] and page1["has_more"] is True
    page2 = client.conversations_history(
        channel="C1", limit=2, cursor=page1["response_metadata"]["next_cursor"]
    )
    assert [m["text"] for m in page2["messages"]] == ["2", "1"]
    ranged = client.conversations_history(channel="C1", oldest=ts[1], latest=ts[3])
    assert [m["text"] for m in ranged["messages"]] == ["2"]
    inclusive = client.conversations_history(channel="C1", oldest=ts[1], latest=ts[3], inclusive=True)
    assert [m["text"] for m in inclusive["messages"]] == ["3", "2", "1"]
    assert api_error(lambda: client.conversations_history(channel="C3"))["error"] == "not_in_channel"


def test_conversation_info_members_and_open(emu: SlackEmulator, client: WebClient) -> None:
    info = client.conversations_info(channel="C1", include_num_members=True)["channel"]
    assert info["is_member"] is True and info["is_channel"] is True and info["num_members"] == 3
    assert client.conversations_info(channel="C3")["channel"]["is_member"] is False
    assert api_error(lambda: client.conversations_info(channel="C2"))["error"] == "channel_not_found"
    assert set(client.conversations_members(channel="C1")["members"]) == {"U1", "U2", "UBOT"}
    opened = client.conversations_open(users="U3")
    assert opened["channel"]["id"] == emu.dm_channel("U3")


def test_users_and_usergroups(emu: SlackEmulator, client: WebClient) -> None:
    assert client.users_info(user="U1")["user"]["name"] == "alice"
    assert api_error(lambda: client.users_info(user="U404"))["error"] == "user_not_found"
    assert client.usergroups_users_list(usergroup="S1")["users"] == ["U2", "U3"]
    assert api_error(lambda: client.usergroups_users_list(usergroup="S404"))["error"] == "no_such_subteam"
    groups = client.usergroups_list(include_users=True)["usergroups"]
    assert groups[0]["handle"] == "experts" and groups[0]["users"] == ["U2", "U3"]


def test_reactions(emu: SlackEmulator, client: WebClient) -> None:
    r = client.chat_postMessage(channel="C1", text="x")
    client.reactions_add(channel="C1", timestamp=r["ts"], name="white_check_mark")
    assert emu.message("C1", r["ts"])["reactions"][0]["users"] == ["UBOT"]
    assert (
        api_error(lambda: client.reactions_add(channel="C1", timestamp=r["ts"], name="white_check_mark"))[
            "error"
        ]
        == "already_reacted"
    )


# ---------------------------------------------------------------- views


def test_views_open_update_push_and_triggers(emu: SlackEmulator, client: WebClient) -> None:
    view = client.views_open(trigger_id=emu.issue_trigger_id("U1"), view=MODAL)["view"]
    assert view["id"].startswith("V") and view["root_view_id"] == view["id"]
    assert view["state"]["values"]["why"]["text"] == {"type": "plain_text_input", "value": None}
    assert emu.open_views("U1")[0]["callback_id"] == "label_modal"

    updated = client.views_update(
        view_id=view["id"], hash=view["hash"], view={**MODAL, "private_metadata": "item-43"}
    )["view"]
    assert updated["id"] == view["id"] and updated["hash"] != view["hash"]
    assert (
        api_error(lambda: client.views_update(view_id=view["id"], hash=view["hash"], view=MODAL))["error"]
        == "hash_conflict"
    )
    assert api_error(lambda: client.views_update(view_id="V404", view=MODAL))["error"] == "not_found"

    pushed = client.views_push(trigger_id=emu.issue_trigger_id("U1"), view=MODAL)["view"]
    assert pushed["previous_view_id"] == view["id"] and pushed["root_view_id"] == view["id"]
    client.views_push(trigger_id=emu.issue_trigger_id("U1"), view=MODAL)
    assert (
        api_error(lambda: client.views_push(trigger_id=emu.issue_trigger_id("U1"), view=MODAL))["error"]
        == "push_limit_reached"
    )

    trigger = emu.issue_trigger_id("U2")
    client.views_open(trigger_id=trigger, view=MODAL)
    assert (
        api_error(lambda: client.views_open(trigger_id=trigger, view=MODAL))["error"]
        == "exchanged_trigger_id"
    )
    assert (
        api_error(lambda: client.views_open(trigger_id="123.456.abc", view=MODAL))["error"]
        == "invalid_trigger_id"
    )
    emu.trigger_ttl = 0.05
    stale = emu.issue_trigger_id("U2")
    time.sleep(0.1)
    assert api_error(lambda: client.views_open(trigger_id=stale, view=MODAL))["error"] == "expired_trigger_id"


def test_invalid_views_are_rejected(emu: SlackEmulator, client: WebClient) -> None:
    bad = {**MODAL, "title": {"type": "plain_text", "text": "A title that is far too long"}}
    data = api_error(lambda: client.views_open(trigger_id=emu.issue_trigger_id("U1"), view=bad))
    assert data["error"] == "invalid_arguments"
    assert data["response_metadata"]["messages"] == [
        "[ERROR] must be less than 25 characters [json-pointer:/view/title/text]"
    ]
    many = {**MODAL, "blocks": [{"type": "divider"}] * 101}
    data = api_error(lambda: client.views_open(trigger_id=emu.issue_trigger_id("U1"), view=many))
    assert (
        "[ERROR] no more than 100 items allowed [json-pointer:/view/blocks]"
        in data["response_metadata"]["messages"]
    )
    meta = {**MODAL, "private_metadata": "m" * 3001}
    data = api_error(lambda: client.views_open(trigger_id=emu.issue_trigger_id("U1"), view=meta))
    assert data["error"] == "invalid_arguments"


def test_views_publish_home(emu: SlackEmulator, client: WebClient) -> None:
    home = {"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "queue: 3"}}]}
    v1 = client.views_publish(user_id="U1", view=home)["view"]
    v2 = client.views_publish(user_id="U1", view=home, hash=v1["hash"])["view"]
    assert v1["id"] == v2["id"] and emu.home("U1")["blocks"][0]["text"]["text"] == "queue: 3"
    assert (
        api_error(lambda: client.views_publish(user_id="U1", view=home, hash=v1["hash"]))["error"]
        == "hash_conflict"
    )
    assert api_error(lambda: client.views_publish(user_id="U404", view=home))["error"] == "user_not_found"
    assert api_error(lambda: client.views_publish(user_id="U1", view=MODAL))["error"] == "invalid_arguments"


# ---------------------------------------------------------------- files


def test_files_upload_v2_end_to_end(emu: SlackEmulator, client: WebClient) -> None:
    parent = client.chat_postMessage(channel="C1", text="export ready")
    resp = client.files_upload_v2(
        channel="C1",
        content="id,label\n1,cat\n",
        filename="labels.csv",
        title="Labels",
        initial_comment="here you go",
        thread_ts=parent["ts"],
    )
    fid = resp["file"]["id"]
    assert emu.files[fid].content == b"id,label\n1,cat\n" and emu.files[fid].title == "Labels"
    shared = emu.thread("C1", parent["ts"])[-1]
    assert shared["text"] == "here you go" and shared["files"][0]["id"] == fid
    download = httpx.get(
        shared["files"][0]["url_private"], headers={"Authorization": f"Bearer {emu.bot_token}"}
    )
    assert download.content == b"id,label\n1,cat\n"
    assert client.files_info(file=fid)["file"]["name"] == "labels.csv"


def test_files_errors(emu: SlackEmulator, client: WebClient) -> None:
    with pytest.warns(UserWarning):
        data = api_error(lambda: client.files_upload(channels="C1", content="x", filename="x.txt"))
    assert data["error"] == "method_deprecated"
    url = client.files_getUploadURLExternal(filename="a.txt", length=3)
    assert (
        api_error(
            lambda: client.files_completeUploadExternal(files=[{"id": url["file_id"]}], channel_id="C1")
        )["error"]
        == "file_not_found"
    )  # bytes never uploaded
    assert (
        api_error(lambda: client.files_getUploadURLExternal(filename="a.txt", length=0))["error"]
        == "invalid_arguments"
    )


# ---------------------------------------------------------------- limits and failure injection


def test_rate_limit_answers_429_with_retry_after() -> None:
    with SlackEmulator() as emu:  # Slack's limits enforced (the default)
        emu.add_channel("C1", "labeling")
        client = WebClient(token=emu.bot_token, base_url=emu.api_url)
        statuses = []
        for i in range(8):
            try:
                client.chat_postMessage(channel="C1", text=str(i))
                statuses.append(200)
            except SlackApiError as exc:
                statuses.append(exc.response.status_code)
                assert exc.response["error"] == "ratelimited"
                assert int(exc.response.headers["Retry-After"]) >= 1
        assert statuses[:5] == [200] * 5 and 429 in statuses[5:]
        # other channels have their own bucket
        emu.add_channel("C2", "other")
        client.chat_postMessage(channel="C2", text="ok")
        # slack_sdk's retry handler honours Retry-After and gets through
        patient = WebClient(
            token=emu.bot_token, base_url=emu.api_url, retry_handlers=[RateLimitErrorRetryHandler()]
        )
        assert patient.chat_postMessage(channel="C1", text="eventually")["ok"]
        emu.set_rate_limit("chat.update", per_minute=1, burst=1)
        ts = emu.messages("C1")[0]["ts"]
        client.chat_update(channel="C1", ts=ts, text="a")
        assert api_error(lambda: client.chat_update(channel="C1", ts=ts, text="b"))["error"] == "ratelimited"
        emu.set_rate_limits("off")
        client.chat_update(channel="C1", ts=ts, text="c")


def test_non_marketplace_history_limits() -> None:
    with SlackEmulator(non_marketplace=True) as emu:
        emu.add_channel("C1", "labeling")
        client = WebClient(token=emu.bot_token, base_url=emu.api_url)
        emu.set_rate_limit("chat.postMessage", per_minute=6000, burst=100, scope="channel")
        for i in range(20):
            client.chat_postMessage(channel="C1", text=str(i))
        page = client.conversations_history(channel="C1", limit=100)
        assert len(page["messages"]) == 15 and page["has_more"] is True
        with pytest.raises(SlackApiError) as info:
            client.conversations_history(channel="C1")
        assert info.value.response.status_code == 429


def test_fail_next_and_dropped_connections(emu: SlackEmulator, client: WebClient) -> None:
    emu.fail_next("chat.postMessage", status=503)
    with pytest.raises(SlackApiError) as info:
        client.chat_postMessage(channel="C1", text="x")
    assert info.value.response.status_code == 503
    emu.fail_next("chat.postMessage", status=429, retry_after=7)
    with pytest.raises(SlackApiError) as info:
        client.chat_postMessage(channel="C1", text="x")
    assert info.value.response.status_code == 429 and info.value.response.headers["Retry-After"] == "7"
    emu.fail_next("chat.postMessage", status=200, error="fatal_error", times=2)
    assert api_error(lambda: client.chat_postMessage(channel="C1", text="x"))["error"] == "fatal_error"
    assert api_error(lambda: client.chat_postMessage(channel="C1", text="x"))["error"] == "fatal_error"
    assert client.chat_postMessage(channel="C1", text="x")["ok"]

    emu.drop_connection_next("auth.test")
    bare = WebClient(token=emu.bot_token, base_url=emu.api_url, retry_handlers=[])
    with pytest.raises(Exception) as dropped:
        bare.auth_test()
    assert not isinstance(dropped.value, SlackApiError)
    emu.drop_connection_next("auth.test")
    retrying = WebClient(
        token=emu.bot_token, base_url=emu.api_url, retry_handlers=[ConnectionErrorRetryHandler()]
    )
    assert retrying.auth_test()["ok"]


def test_a_storm_fails_every_call_until_it_ends(emu: SlackEmulator) -> None:
    bare = WebClient(token=emu.bot_token, base_url=emu.api_url, retry_handlers=[])
    emu.fail_for(600, 429, retry_after=2)
    for call in (lambda: bare.chat_postMessage(channel="C1", text="x"), bare.auth_test):
        with pytest.raises(SlackApiError) as info:
            call()
        assert info.value.response.status_code == 429 and info.value.response.headers["Retry-After"] == "2"
    emu.fail_for(600, 500, methods=["chat.update"])  # only that method; replaces the storm before
    assert bare.chat_postMessage(channel="C1", text="x")["ok"]
    with pytest.raises(SlackApiError) as info:
        bare.chat_update(channel="C1", ts="1.1", text="y")
    assert info.value.response.status_code == 500
    emu.stop_failing()
    assert bare.auth_test()["ok"]
    emu.fail_for(0, 500)  # already over
    assert bare.auth_test()["ok"]


def test_a_failure_after_the_effect_posts_and_answers_the_failure(emu: SlackEmulator) -> None:
    """Slack's ambiguous 5xx: the message is there, the answer says it failed."""
    bare = WebClient(token=emu.bot_token, base_url=emu.api_url, retry_handlers=[])
    emu.fail_next("chat.postMessage", 500, after_effect=True)
    with pytest.raises(SlackApiError) as info:
        bare.chat_postMessage(channel="C1", text="landed")
    assert info.value.response.status_code == 500
    assert [m["text"] for m in emu.messages("C1")] == ["landed"]
    emu.fail_for(600, 503, methods=["chat.postMessage"], after_effect=True)
    with pytest.raises(SlackApiError):
        bare.chat_postMessage(channel="C1", text="again")
    emu.fail_for(600, 503, methods=["chat.postMessage"])  # before the effect: nothing posted
    with pytest.raises(SlackApiError):
        bare.chat_postMessage(channel="C1", text="lost")
    emu.stop_failing()
    assert [m["text"] for m in emu.messages("C1")] == ["landed", "again"]


def test_slow_answers_take_effect_first(emu: SlackEmulator) -> None:
    bare = WebClient(token=emu.bot_token, base_url=emu.api_url, retry_handlers=[], timeout=0.5)
    emu.slow_answers(2.0, ["chat.postMessage"])
    with pytest.raises(TimeoutError):
        bare.chat_postMessage(channel="C1", text="slow")
    assert [m["text"] for m in emu.messages("C1")] == ["slow"]  # posted before the caller gave up
    emu.slow_answers(0, ["chat.postMessage"])
    assert bare.chat_postMessage(channel="C1", text="quick")["ok"]


# ---------------------------------------------------------------- signing & HTTP delivery


def test_signing_matches_slack_sdk() -> None:
    body = "payload=%7B%7D"
    headers = signed_headers("secret", body)
    verifier = SignatureVerifier("secret")
    assert verifier.is_valid(body, headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"])
    assert not verifier.is_valid(
        body + "x", headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
    )
    assert sign("secret", 1, b"x") == sign("secret", "1", "x")


class Recorder:
    """A stand-in app Request URL that records what Slack (the emulator) sends."""

    def __init__(self, respond: Callable[[dict[str, Any]], tuple[int, str]] | None = None) -> None:
        self.requests: list[dict[str, Any]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                req = {"path": self.path, "headers": dict(self.headers), "body": body.decode()}
                recorder.requests.append(req)
                status, text = respond(req) if respond else (200, "")
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/slack/events"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_http_delivery_is_signed_and_shaped(emu: SlackEmulator, client: WebClient) -> None:
    app = Recorder()
    emu.deliver_to_http(app.url)
    verifier = SignatureVerifier(emu.signing_secret)
    try:
        posted = client.chat_postMessage(channel="C1", text="q", blocks=BUTTONS)
        d = emu.click("U1", "C1", posted["ts"], "label", value="cat")
        assert d.status == 200 and d.acked and d.transport == "http"
        req = app.requests[-1]
        assert req["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
        assert verifier.is_valid(
            req["body"], req["headers"]["X-Slack-Request-Timestamp"], req["headers"]["X-Slack-Signature"]
        )
        payload = json.loads(parse_qs(req["body"])["payload"][0])
        assert payload == d.payload
        assert list(payload) == [
            "type",
            "user",
            "api_app_id",
            "token",
            "container",
            "trigger_id",
            "team",
            "enterprise",
            "is_enterprise_install",
            "channel",
            "message",
            "state",
            "response_url",
            "actions",
        ]
        assert payload["container"] == {
            "type": "message",
            "message_ts": posted["ts"],
            "channel_id": "C1",
            "is_ephemeral": False,
        }
        assert payload["user"] == {"id": "U1", "username": "alice", "name": "alice", "team_id": "T0001"}
        assert payload["message"]["ts"] == posted["ts"] and payload["message"]["bot_id"] == "B0001"
        action = payload["actions"][0]
        assert (action["type"], action["action_id"], action["block_id"], action["value"]) == (
            "button",
            "label",
            "labels",
            "cat",
        )
        assert payload["state"]["values"]["labels"]["pick"] == {
            "type": "static_select",
            "selected_option": None,
        }

        d = emu.user_posts("U1", "C1", "hello <@UBOT>")
        event_req = app.requests[-2]  # message, then app_mention
        assert event_req["headers"]["Content-Type"] == "application/json"
        envelope = json.loads(event_req["body"])
        assert envelope["type"] == "event_callback" and envelope["event"]["type"] == "message"
        assert (
            envelope["event"]["channel_type"] == "channel"
            and envelope["authorizations"][0]["user_id"] == "UBOT"
        )
        assert json.loads(app.requests[-1]["body"])["event"]["type"] == "app_mention"
        assert d is not None and d.ts == envelope["event"]["ts"]

        retry = emu.redeliver(envelope["event_id"])
        assert app.requests[-1]["headers"]["X-Slack-Retry-Num"] == "1"
        assert app.requests[-1]["headers"]["X-Slack-Retry-Reason"] == "http_timeout"
        assert json.loads(app.requests[-1]["body"]) == envelope and retry.retry_attempt == 1

        emu.slash_command("U2", "C1", "/label", "next")
        form = parse_qs(app.requests[-1]["body"])
        assert form["command"] == ["/label"] and form["text"] == ["next"] and form["user_id"] == ["U2"]
        assert form["response_url"][0].startswith(emu.base_url + "commands/")
        assert len(emu.ephemerals("U2")) == 0  # empty ack shows nothing
    finally:
        app.close()


def test_http_timeouts_and_errors_are_reported(emu: SlackEmulator) -> None:
    app = Recorder(lambda req: (500, "boom"))
    emu.deliver_to_http(app.url)
    try:
        d = emu.app_home_opened("U1")
        assert d is not None and d.status == 500 and not d.acked and d.error == "http_error"
    finally:
        app.close()
    emu.deliver_to_http("http://127.0.0.1:9/nothing-listens-here")
    d = emu.app_home_opened("U1")
    assert d is not None and d.status == "error"


def test_bolt_over_http_verifies_emulator_signatures(emu: SlackEmulator, client: WebClient) -> None:
    bolt = App(client=client, signing_secret=emu.signing_secret)
    seen: list[str] = []

    @bolt.action("label")
    def on_label(ack: Callable[..., None], action: dict[str, Any]) -> None:
        ack()
        seen.append(action["value"])

    def respond(req: dict[str, Any]) -> tuple[int, str]:
        resp = bolt.dispatch(
            BoltRequest(body=req["body"], headers={k.lower(): v for k, v in req["headers"].items()})
        )
        return resp.status, resp.body

    app = Recorder(respond)
    emu.deliver_to_http(app.url)
    try:
        posted = client.chat_postMessage(channel="C1", text="q", blocks=BUTTONS)
        assert emu.click("U1", "C1", posted["ts"], "label").status == 200
        assert seen == ["cat"]
        body = b"payload=%7B%7D"
        forged = emu.raw_post(
            "/slack/events",
            body,
            {**signed_headers("not-the-secret", body), "Content-Type": "application/x-www-form-urlencoded"},
        )
        assert forged.status_code == 401
        stale = emu.raw_post(
            "/slack/events",
            body,
            {
                **signed_headers(emu.signing_secret, body, int(time.time()) - 600),
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        assert stale.status_code == 401
        assert emu.verify_url().status == 200
    finally:
        app.close()


# ---------------------------------------------------------------- interactions in detail


def test_click_rules(emu: SlackEmulator, client: WebClient) -> None:
    app = Recorder()
    emu.deliver_to_http(app.url)
    try:
        posted = client.chat_postMessage(channel="C1", text="q", blocks=BUTTONS)
        with pytest.raises(LookupError):
            emu.click("U1", "C1", posted["ts"], "does_not_exist")
        with pytest.raises(LookupError):
            emu.click("U1", "C1", posted["ts"], "label", value="unicorn")
        with pytest.raises(LookupError):
            emu.click("U1", "C1", posted["ts"], "pick", option_value="dragon")
        d = emu.click("U1", "C1", posted["ts"], "pick", option_value="fish")
        action = d.payload["actions"][0]
        assert action["selected_option"]["value"] == "fish" and action["type"] == "static_select"
        assert d.payload["state"]["values"]["labels"]["pick"]["selected_option"]["value"] == "fish"
        assert d.payload["trigger_id"] != emu.click("U2", "C1", posted["ts"], "label").payload["trigger_id"]

        eph = client.chat_postEphemeral(channel="C1", user="U1", text="e", blocks=BUTTONS)
        with pytest.raises(LookupError):
            emu.click("U2", "C1", eph["message_ts"], "label")  # not U2's ephemeral message
        d = emu.click("U1", "C1", eph["message_ts"], "label")
        assert d.payload["container"]["is_ephemeral"] is True and "message" not in d.payload
    finally:
        app.close()


def test_response_url_semantics(emu: SlackEmulator, client: WebClient) -> None:
    app = Recorder()
    emu.deliver_to_http(app.url)
    try:
        posted = client.chat_postMessage(channel="C1", text="q", blocks=BUTTONS)
        url = emu.click("U1", "C1", posted["ts"], "label").payload["response_url"]
        assert httpx.post(url, json={"text": "only for you"}).status_code == 200
        assert emu.ephemerals("U1")[-1]["text"] == "only for you"
        httpx.post(url, json={"text": "for all", "response_type": "in_channel", "thread_ts": posted["ts"]})
        assert emu.thread("C1", posted["ts"])[-1]["text"] == "for all"
        bad = httpx.post(
            url, json={"blocks": [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}]}
        )
        assert bad.status_code == 400 and bad.text == "invalid_blocks"
        httpx.post(url, json={"text": "labelled: cat", "replace_original": True})
        assert emu.message("C1", posted["ts"])["text"] == "labelled: cat"
        assert "blocks" not in emu.message("C1", posted["ts"])
        assert httpx.post(url, json={"text": "fifth use"}).status_code == 200
        used = httpx.post(url, json={"text": "sixth use"})
        assert used.status_code == 404 and used.json()["error"] == "used_url"

        second = client.chat_postMessage(channel="C1", text="q2", blocks=BUTTONS)
        url2 = emu.click("U1", "C1", second["ts"], "label").payload["response_url"]
        httpx.post(url2, json={"delete_original": True})
        assert emu.message("C1", second["ts"]) is None
        emu.response_url_ttl = 0.0
        third = client.chat_postMessage(channel="C1", text="q3", blocks=BUTTONS)
        url3 = emu.click("U1", "C1", third["ts"], "label").payload["response_url"]
        assert httpx.post(url3, json={"text": "late"}).json()["error"] == "expired_url"
        assert emu.responses[-1]["status"] == 404
    finally:
        app.close()


def test_view_submission_flow(emu: SlackEmulator, client: WebClient) -> None:
    answers: list[dict[str, Any]] = []

    def respond(req: dict[str, Any]) -> tuple[int, str]:
        payload = json.loads(parse_qs(req["body"])["payload"][0])
        if payload["type"] != "view_submission":
            return 200, ""
        return 200, json.dumps(answers.pop(0)) if answers else ""

    app = Recorder(respond)
    emu.deliver_to_http(app.url)
    try:
        view = client.views_open(trigger_id=emu.issue_trigger_id("U1"), view=MODAL)["view"]
        with pytest.raises(ValueError, match="required"):
            emu.submit_view("U1", view["id"], {"why": {"text": "fluffy"}})
        answers.append({"response_action": "errors", "errors": {"why": "Say more"}})
        d = emu.submit_view("U1", view["id"], {"why": {"text": "fluffy"}, "conf": {"level": "high"}})
        assert d.payload["type"] == "view_submission" and d.payload["view"]["private_metadata"] == "item-42"
        values = d.payload["view"]["state"]["values"]
        assert values["why"]["text"] == {"type": "plain_text_input", "value": "fluffy"}
        assert values["conf"]["level"]["selected_option"]["value"] == "high"
        assert values["opt"]["note"] == {"type": "plain_text_input", "value": None}
        assert emu.view_errors(view["id"]) == {"why": "Say more"} and emu.view_is_open(view["id"])

        d = emu.click_in_view("U1", view["id"], "hint")
        assert d.payload["container"] == {"type": "view", "view_id": view["id"]}
        assert d.payload["view"]["state"]["values"]["why"]["text"]["value"] == "fluffy"

        answers.append({"response_action": "update", "view": {**MODAL, "private_metadata": "updated"}})
        emu.submit_view("U1", view["id"])
        assert emu.view(view["id"])["private_metadata"] == "updated"
        assert emu.view(view["id"])["state"]["values"]["why"]["text"]["value"] == "fluffy"  # kept

        answers.append({"response_action": "push", "view": MODAL})
        emu.submit_view("U1", view["id"])
        stack = emu.open_views("U1")
        assert len(stack) == 2 and stack[1]["previous_view_id"] == view["id"]
        with pytest.raises(LookupError):
            emu.click_in_view("U1", view["id"], "hint")  # covered by the pushed view
        filled = {"why": {"text": "x"}, "conf": {"level": "low"}}
        d = emu.submit_view("U1", stack[1]["id"], filled)  # empty ack closes just that view
        assert [v["id"] for v in emu.open_views("U1")] == [view["id"]]

        answers.append(
            {
                "response_action": "update",
                "view": {**MODAL, "title": {"type": "plain_text", "text": "x" * 30}},
            }
        )
        d = emu.submit_view("U1", view["id"])
        assert d.error is not None and "invalid_arguments" in d.error
        answers.append({"response_action": "clear"})
        emu.submit_view("U1", view["id"])
        assert emu.open_views("U1") == []

        closing = client.views_open(
            trigger_id=emu.issue_trigger_id("U1"), view={**MODAL, "notify_on_close": True}
        )
        d2 = emu.close_view("U1", closing["view"]["id"])
        assert d2 is not None and d2.payload["type"] == "view_closed" and d2.payload["is_cleared"] is False
    finally:
        app.close()


def test_user_edits_deletes_and_home(emu: SlackEmulator, client: WebClient) -> None:
    app = Recorder()
    emu.deliver_to_http(app.url)
    try:
        d = emu.user_posts("U1", "C1", "first")
        assert d is not None
        reply = emu.user_posts("U2", "C1", "in thread", thread_ts=d.ts)
        assert reply is not None and reply.payload["event"]["thread_ts"] == d.ts
        edited = emu.user_edits("U1", "C1", d.ts, "first!")
        assert edited is not None
        ev = edited.payload["event"]
        assert (ev["subtype"], ev["message"]["text"], ev["previous_message"]["text"]) == (
            "message_changed",
            "first!",
            "first",
        )
        assert ev["message"]["edited"]["user"] == "U1"
        deleted = emu.user_deletes("U2", "C1", reply.ts)
        assert deleted is not None and deleted.payload["event"]["subtype"] == "message_deleted"
        assert deleted.payload["event"]["previous_message"]["text"] == "in thread"
        assert emu.user_posts("U1", "C3", "bot is not here") is None  # Slack sends no event
        client.views_publish(user_id="U1", view={"type": "home", "blocks": [{"type": "divider"}]})
        home = emu.app_home_opened("U1")
        assert home is not None and home.payload["event"]["view"]["type"] == "home"
    finally:
        app.close()


def test_wait_for_times_out(emu: SlackEmulator) -> None:
    assert emu.wait_for(lambda: 42) == 42
    with pytest.raises(TimeoutError):
        emu.wait_for(lambda: False, timeout=0.05)


# ---------------------------------------------------------------- Socket Mode with Bolt


def test_socket_mode_round_trip_with_bolt() -> None:
    with SlackEmulator(rate_limits=10, echo_bot_messages=True) as emu:
        emu.add_channel("C1", "labeling", members=["U1"])
        client = WebClient(token=emu.bot_token, base_url=emu.api_url)
        bolt = App(client=client, signing_secret=emu.signing_secret)
        labels: list[str] = []
        heard: list[str] = []

        @bolt.action("label")
        def on_label(ack: Callable[..., None], action: dict[str, Any], respond: Callable[..., Any]) -> None:
            ack()
            labels.append(action["value"])
            respond(text=f"labelled {action['value']}", replace_original=True)

        @bolt.command("/label")
        def on_command(ack: Callable[..., None], command: dict[str, Any], client: WebClient) -> None:
            ack("opening")
            client.views_open(trigger_id=command["trigger_id"], view=MODAL)

        @bolt.view("label_modal")
        def on_submit(ack: Callable[..., None], view: dict[str, Any]) -> None:
            if len(view["state"]["values"]["why"]["text"]["value"]) < 3:
                ack(response_action="errors", errors={"why": "too short"})
            else:
                ack()

        @bolt.event("message")
        def on_message(event: dict[str, Any], say: Callable[..., Any]) -> None:
            heard.append(event["text"])
            say(text="got " + event["text"])

        handler = SocketModeHandler(bolt, app_token=emu.app_token)
        handler.connect()
        try:
            emu.wait_for_socket()
            hello = emu.calls_to("apps.connections.open")
            assert hello and hello[0].token == emu.app_token

            posted = client.chat_postMessage(channel="C1", text="q", blocks=BUTTONS)
            d = emu.click("U1", "C1", posted["ts"], "label")
            assert d.status == "acked" and d.transport == "socket" and d.envelope_id
            emu.wait_for(lambda: emu.message("C1", posted["ts"])["text"] == "labelled cat")
            assert labels == ["cat"]

            d = emu.slash_command("U1", "C1", "/label")
            assert d.status == "acked" and d.body == {"text": "opening"}
            assert emu.ephemerals("U1")[-1]["text"] == "opening"
            view = emu.wait_for(lambda: emu.open_views("U1"))[0]
            d = emu.submit_view("U1", view["id"], {"why": {"text": "no"}, "conf": {"level": "low"}})
            assert d.body == {"response_action": "errors", "errors": {"why": "too short"}}
            assert emu.view_errors(view["id"]) == {"why": "too short"}
            emu.submit_view("U1", view["id"], {"why": {"text": "because"}})
            assert not emu.view_is_open(view["id"])

            d = emu.user_posts("U1", "C1", "hello")
            assert d is not None and d.status == "acked"
            emu.wait_for(lambda: any(m["text"] == "got hello" for m in emu.messages("C1")))
            # The bot's own post came back as a message event with bot_id; Bolt ignored it.
            emu.wait_for(
                lambda: any(
                    x.payload.get("event", {}).get("bot_id") == "B0001"
                    and x.payload["event"]["text"] == "got hello"
                    for x in emu.deliveries
                )
            )
            time.sleep(0.2)
            assert heard == ["hello"]

            emu.disconnect_socket()
            emu.wait_for_socket()
            assert len(emu.calls_to("apps.connections.open")) == 2
            second = client.chat_postMessage(channel="C1", text="q2", blocks=BUTTONS)
            assert emu.click("U1", "C1", second["ts"], "label").status == "acked"
            emu.wait_for(lambda: labels == ["cat", "cat"])
        finally:
            handler.close()


def test_socket_mode_ack_timeout_and_bad_ticket() -> None:
    with SlackEmulator(rate_limits="off", ack_timeout=0.3) as emu:
        emu.add_channel("C1", "labeling", members=["U1"])
        url = WebClient(base_url=emu.api_url).apps_connections_open(app_token=emu.app_token)["url"]
        with websocket_connect(url, open_timeout=5) as ws:
            hello = json.loads(ws.recv(timeout=5))
            assert hello["type"] == "hello" and hello["connection_info"]["app_id"] == "A0001"
            assert hello["num_connections"] == 1
            d = emu.user_posts("U1", "C1", "nobody acks this")
            assert d is not None and d.status == "timeout" and not d.acked
            envelope = json.loads(ws.recv(timeout=5))
            assert envelope["type"] == "events_api" and envelope["retry_attempt"] == 0
            assert envelope["accepts_response_payload"] is False
            assert envelope["payload"]["event"]["text"] == "nobody acks this"
        with pytest.raises(InvalidStatus):
            websocket_connect(url, open_timeout=5)  # tickets are single use
