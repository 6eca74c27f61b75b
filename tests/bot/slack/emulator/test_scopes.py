"""The emulator's OAuth scopes: each method refused without its scope, as Slack refuses it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack.emulator import SlackEmulator
from bot.slack.emulator.scopes import ALL_BOT_SCOPES, CONVERSATION_SCOPES, METHOD_SCOPES


@pytest.fixture
def emu() -> Iterator[SlackEmulator]:
    emulator = SlackEmulator(rate_limits="off")
    emulator.add_user("U1", "alice")
    emulator.add_user("U2", "bob")
    emulator.add_channel("C1", "labeling", members=["U1", "U2"])
    emulator.add_channel("G1", "secret", members=["U1"], is_private=True)
    emulator.add_usergroup("S1", "experts", ["U2"])
    with emulator:
        yield emulator


@pytest.fixture
def client(emu: SlackEmulator) -> WebClient:
    return WebClient(token=emu.bot_token, base_url=emu.api_url, retry_handlers=[])


def without(scope: str) -> tuple[str, ...]:
    return tuple(s for s in ALL_BOT_SCOPES if s != scope)


def refusal(call: Callable[[], Any]) -> dict[str, Any]:
    with pytest.raises(SlackApiError) as info:
        call()
    assert info.value.response.status_code == 200  # Slack's errors are HTTP 200 + ok: false
    return info.value.response.data  # type: ignore[no-any-return]


def assert_missing(emu: SlackEmulator, call: Callable[[], Any], needed: str) -> None:
    """``call`` fails for want of ``needed`` alone: refused with Slack's fields, then served once granted."""
    emu.set_scopes(without(needed))
    data = refusal(call)
    assert data == {
        "ok": False,
        "error": "missing_scope",
        "needed": needed,
        "provided": ",".join(without(needed)),
    }
    emu.set_scopes(ALL_BOT_SCOPES)
    assert call()["ok"]


def test_every_method_the_emulator_serves_has_its_scope_listed(emu: SlackEmulator) -> None:
    assert set(emu._handlers()) == set(METHOD_SCOPES) | set(CONVERSATION_SCOPES)


def test_history_and_replies_need_the_scope_of_the_conversation_type(
    emu: SlackEmulator, client: WebClient
) -> None:
    dm = emu.dm_channel("U1")
    mpim = client.conversations_open(users="U1,U2")["channel"]["id"]
    for channel, needed in [
        ("C1", "channels:history"),
        ("G1", "groups:history"),
        (dm, "im:history"),
        (mpim, "mpim:history"),
    ]:
        ts = client.chat_postMessage(channel=channel, text="hello")["ts"]
        assert_missing(emu, lambda c=channel: client.conversations_history(channel=c), needed)
        assert_missing(emu, lambda c=channel, t=ts: client.conversations_replies(channel=c, ts=t), needed)


def test_conversation_info_members_and_list_need_the_read_scope_of_the_type(
    emu: SlackEmulator, client: WebClient
) -> None:
    dm = emu.dm_channel("U1")
    for channel, needed in [("C1", "channels:read"), ("G1", "groups:read"), (dm, "im:read")]:
        assert_missing(emu, lambda c=channel: client.conversations_info(channel=c), needed)
        assert_missing(emu, lambda c=channel: client.conversations_members(channel=c), needed)
    assert_missing(emu, lambda: client.conversations_list(types="public_channel,im"), "im:read")


def test_opening_a_dm_needs_im_write_and_a_group_dm_mpim_write(emu: SlackEmulator, client: WebClient) -> None:
    assert_missing(emu, lambda: client.conversations_open(users="U1"), "im:write")
    assert_missing(emu, lambda: client.conversations_open(users="U1,U2"), "mpim:write")
    assert refusal(lambda: client.conversations_open(channel="C1"))["error"] == (
        "method_not_supported_for_channel_type"
    )


def test_chat_methods_need_chat_write(emu: SlackEmulator, client: WebClient) -> None:
    assert_missing(emu, lambda: client.chat_postMessage(channel="C1", text="hi"), "chat:write")
    ts = client.chat_postMessage(channel="C1", text="hi")["ts"]
    assert_missing(emu, lambda: client.chat_update(channel="C1", ts=ts, text="edited"), "chat:write")
    assert_missing(emu, lambda: client.chat_postEphemeral(channel="C1", user="U1", text="psst"), "chat:write")
    assert_missing(emu, lambda: client.chat_delete(channel="C1", ts=ts), "chat:write")
    ts = client.chat_postMessage(channel="C1", text="hi")["ts"]
    emu.set_scopes(())
    assert client.chat_getPermalink(channel="C1", message_ts=ts)["ok"]  # needs no scope


def test_users_usergroups_files_and_reactions_need_their_scopes(
    emu: SlackEmulator, client: WebClient
) -> None:
    assert_missing(emu, lambda: client.usergroups_users_list(usergroup="S1"), "usergroups:read")
    assert_missing(emu, lambda: client.usergroups_list(), "usergroups:read")
    assert_missing(emu, lambda: client.users_info(user="U1"), "users:read")
    assert_missing(emu, lambda: client.users_list(), "users:read")
    assert_missing(
        emu, lambda: client.files_getUploadURLExternal(filename="chart.png", length=3), "files:write"
    )
    emu.set_scopes(without("files:write"))
    error = refusal(lambda: client.files_upload_v2(channel="C1", content=b"png", filename="chart.png"))
    assert (error["error"], error["needed"]) == ("missing_scope", "files:write")
    emu.set_scopes(ALL_BOT_SCOPES)
    ts = client.chat_postMessage(channel="C1", text="hi")["ts"]
    assert_missing(
        emu, lambda: client.reactions_add(channel="C1", timestamp=ts, name="eyes"), "reactions:write"
    )


def test_views_auth_and_api_test_need_no_scope(emu: SlackEmulator, client: WebClient) -> None:
    emu.set_scopes(())
    assert client.auth_test()["ok"] and client.api_test()["ok"]
    assert client.views_publish(user_id="U1", view={"type": "home", "blocks": []})["ok"]
    view = {"type": "modal", "title": {"type": "plain_text", "text": "Hi"}, "blocks": []}
    assert client.views_open(trigger_id=emu.issue_trigger_id("U1"), view=view)["ok"]


def test_socket_mode_needs_the_app_tokens_connections_write(emu: SlackEmulator) -> None:
    app = WebClient(base_url=emu.api_url, retry_handlers=[])
    emu.set_scopes(app=())
    data = refusal(lambda: app.apps_connections_open(app_token=emu.app_token))
    assert (data["error"], data["needed"], data["provided"]) == ("missing_scope", "connections:write", "")
    emu.set_scopes(app=["connections:write"])
    assert app.apps_connections_open(app_token=emu.app_token)["url"].startswith("ws://")


def test_the_granted_scopes_travel_in_x_oauth_scopes(emu: SlackEmulator) -> None:
    emu.set_scopes("chat:write,commands")
    response = httpx.post(f"{emu.api_url}auth.test", headers={"Authorization": f"Bearer {emu.bot_token}"})
    assert response.headers["x-oauth-scopes"] == "chat:write,commands"


def test_by_default_every_known_scope_is_granted() -> None:
    emulator = SlackEmulator()
    assert set(emulator.bot_scopes) == set(ALL_BOT_SCOPES) >= {"chat:write", "im:history", "commands"}
    assert emulator.app_scopes == ("connections:write",)
