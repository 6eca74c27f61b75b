"""Builders for the payloads Slack sends to an app, shaped like real captured payloads.

These are pure functions: the emulator fills them from its state, and tests can also use
them directly to hand-craft requests (e.g. a badly signed block_actions).  Field order and
presence follow real payloads (``enterprise: null``, ``is_enterprise_install: false``,
``state: {values: {}}`` on message actions, no ``message`` for ephemeral containers, ...),
because bots sometimes depend on exactly those details.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

from .blockkit import all_options, generate_block_id


@dataclass(frozen=True)
class AppContext:
    """Workspace/app identity stamped on every payload."""

    team_id: str = "T0001"
    team_domain: str = "labelbot-test"
    team_name: str = "Labelbot Test"
    api_app_id: str = "A0001"
    bot_user_id: str = "UBOT"
    bot_id: str = "B0001"
    verification_token: str = "verification-token"


def user_ref(ctx: AppContext, user_id: str, user_name: str) -> dict[str, Any]:
    """The ``user`` object of interactive payloads."""
    return {"id": user_id, "username": user_name, "name": user_name, "team_id": ctx.team_id}


def team_ref(ctx: AppContext) -> dict[str, Any]:
    return {"id": ctx.team_id, "domain": ctx.team_domain}


# -- action objects ------------------------------------------------------------------------


def _option(opt: dict[str, Any]) -> dict[str, Any]:
    out = {"text": copy.deepcopy(opt.get("text")), "value": opt.get("value")}
    if "description" in opt:
        out["description"] = copy.deepcopy(opt["description"])
    return out


def find_option(element: dict[str, Any], value: str) -> dict[str, Any]:
    """The option a user picks; raises LookupError if the element does not offer it."""
    for opt in all_options(element):
        if opt.get("value") == value:
            return _option(opt)
    offered = [o.get("value") for o in all_options(element)]
    raise LookupError(f"option {value!r} is not offered by {element.get('action_id')!r}; offered: {offered}")


_SELECTED_KEY = {
    "users_select": "selected_user",
    "conversations_select": "selected_conversation",
    "channels_select": "selected_channel",
    "multi_users_select": "selected_users",
    "multi_conversations_select": "selected_conversations",
    "multi_channels_select": "selected_channels",
    "datepicker": "selected_date",
    "timepicker": "selected_time",
    "datetimepicker": "selected_date_time",
}


# Where an entity picker's initial value lives, by the state key it fills.
_INITIAL_KEY = {
    "selected_user": "initial_user",
    "selected_conversation": "initial_conversation",
    "selected_channel": "initial_channel",
    "selected_users": "initial_users",
    "selected_conversations": "initial_conversations",
    "selected_channels": "initial_channels",
    "selected_date": "initial_date",
    "selected_time": "initial_time",
    "selected_date_time": "initial_date_time",
}


def state_value(element: dict[str, Any], raw: Any = None, *, initial: bool = False) -> dict[str, Any]:
    """The ``state.values[block_id][action_id]`` entry for an element.

    ``raw`` is what the user entered: a string (text, option value, date, user id), a list
    (multi-selects/checkboxes), or an already-shaped dict.  ``initial=True`` derives it
    from the element's ``initial_*`` fields instead, as Slack does before any input.
    """
    etype = element.get("type", "")
    out: dict[str, Any] = {"type": etype}
    if isinstance(raw, dict):
        out.update(copy.deepcopy(raw))
    elif etype in ("static_select", "external_select", "radio_buttons"):
        out["selected_option"] = _selected_option(element, etype, raw, initial=initial)
    elif etype in ("multi_static_select", "multi_external_select", "checkboxes"):
        out["selected_options"] = _selected_options(element, etype, raw, initial=initial)
    elif etype in _SELECTED_KEY:
        key = _SELECTED_KEY[etype]
        out[key] = _selected_entity(element, etype, key, raw, initial=initial)
    elif etype == "rich_text_input":
        out["rich_text_value"] = copy.deepcopy(element.get("initial_value")) if initial else raw
    elif etype == "file_input":
        out["files"] = [] if initial else list(raw or [])
    else:  # plain_text_input, number_input, email_text_input, url_text_input
        out["value"] = element.get("initial_value") if initial else raw
    return out


def _typed_option(value: Any) -> dict[str, Any]:
    """The option reported for a value picked in an external select, whose options the emulator never sees."""
    return {"text": {"type": "plain_text", "text": str(value), "emoji": True}, "value": value}


def _selected_option(
    element: dict[str, Any], etype: str, raw: Any, *, initial: bool
) -> dict[str, Any] | None:
    if initial:
        init = element.get("initial_option")
        return _option(init) if init else None
    if etype == "external_select":
        return _typed_option(raw)
    return find_option(element, raw)


def _selected_options(
    element: dict[str, Any], etype: str, raw: Any, *, initial: bool
) -> list[dict[str, Any]]:
    if initial:
        return [_option(o) for o in element.get("initial_options") or []]
    values = list(raw or [])
    if etype == "multi_external_select":
        return [_typed_option(v) for v in values]
    return [find_option(element, v) for v in values]


def _selected_entity(element: dict[str, Any], etype: str, key: str, raw: Any, *, initial: bool) -> Any:
    """Users, conversations, channels, dates and times: ids or strings, one or a list."""
    if not initial:
        return list(raw) if etype.startswith("multi_") else raw
    default: Any = (
        [] if key.endswith("s") and key != "selected_date_time" and etype.startswith("multi_") else None
    )
    return copy.deepcopy(element.get(_INITIAL_KEY[key], default))


def action(element: dict[str, Any], block_id: str, action_ts: str, *, value: Any = None) -> dict[str, Any]:
    """One entry of ``actions`` in a block_actions payload for the element the user used."""
    etype = element.get("type", "")
    if etype == "button":
        out: dict[str, Any] = {
            "action_id": element.get("action_id"),
            "block_id": block_id,
            "text": copy.deepcopy(element.get("text")),
        }
        if "value" in element:
            out["value"] = element["value"]
        if "style" in element:
            out["style"] = element["style"]
        out["type"] = "button"
        out["action_ts"] = action_ts
        return out
    out = {"type": etype, "action_id": element.get("action_id"), "block_id": block_id}
    if etype == "overflow":
        out["selected_option"] = find_option(element, value)
    else:
        out.update({k: v for k, v in state_value(element, value).items() if k != "type"})
        if etype == "datepicker" and "initial_date" in element:
            out["initial_date"] = element["initial_date"]
        if "placeholder" in element and etype.endswith("select"):
            out["placeholder"] = copy.deepcopy(element["placeholder"])
    out["action_ts"] = action_ts
    return out


# -- interactive payloads ------------------------------------------------------------------


def block_actions(
    ctx: AppContext,
    *,
    user_id: str,
    user_name: str,
    actions: list[dict[str, Any]],
    trigger_id: str,
    container: dict[str, Any],
    channel: dict[str, Any] | None = None,
    message: dict[str, Any] | None = None,
    view: dict[str, Any] | None = None,
    state_values: dict[str, Any] | None = None,
    response_url: str | None = None,
) -> dict[str, Any]:
    """A block_actions payload; pass ``message`` for channel messages, ``view`` for modals/home."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": user_ref(ctx, user_id, user_name),
        "api_app_id": ctx.api_app_id,
        "token": ctx.verification_token,
        "container": container,
        "trigger_id": trigger_id,
        "team": team_ref(ctx),
        "enterprise": None,
        "is_enterprise_install": False,
    }
    if channel is not None:
        payload["channel"] = channel
    if message is not None:
        payload["message"] = message
    if view is not None:
        payload["view"] = view
    else:
        payload["state"] = {"values": state_values or {}}
    if response_url is not None:
        payload["response_url"] = response_url
    payload["actions"] = actions
    return payload


def message_action(
    ctx: AppContext,
    *,
    user_id: str,
    user_name: str,
    callback_id: str,
    trigger_id: str,
    action_ts: str,
    channel: dict[str, Any],
    message: dict[str, Any],
    response_url: str,
) -> dict[str, Any]:
    """A message shortcut used on ``message`` (``type: message_action``; a global shortcut is
    ``type: shortcut`` and has no channel, message or response_url)."""
    return {
        "type": "message_action",
        "token": ctx.verification_token,
        "action_ts": action_ts,
        "team": team_ref(ctx),
        "user": user_ref(ctx, user_id, user_name),
        "channel": channel,
        "is_enterprise_install": False,
        "enterprise": None,
        "callback_id": callback_id,
        "trigger_id": trigger_id,
        "response_url": response_url,
        "message_ts": message["ts"],
        "message": message,
    }


def view_submission(
    ctx: AppContext,
    *,
    user_id: str,
    user_name: str,
    view: dict[str, Any],
    trigger_id: str,
    response_urls: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "type": "view_submission",
        "team": team_ref(ctx),
        "user": user_ref(ctx, user_id, user_name),
        "api_app_id": ctx.api_app_id,
        "token": ctx.verification_token,
        "trigger_id": trigger_id,
        "view": view,
        "response_urls": response_urls or [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def view_closed(
    ctx: AppContext, *, user_id: str, user_name: str, view: dict[str, Any], is_cleared: bool = False
) -> dict[str, Any]:
    return {
        "type": "view_closed",
        "team": team_ref(ctx),
        "user": user_ref(ctx, user_id, user_name),
        "api_app_id": ctx.api_app_id,
        "token": ctx.verification_token,
        "view": view,
        "is_cleared": is_cleared,
        "is_enterprise_install": False,
        "enterprise": None,
    }


def slash_command(
    ctx: AppContext,
    *,
    user_id: str,
    user_name: str,
    channel_id: str,
    channel_name: str,
    command: str,
    text: str,
    response_url: str,
    trigger_id: str,
) -> dict[str, str]:
    """Form fields of a slash command request (Slack sends them form-encoded, all strings)."""
    return {
        "token": ctx.verification_token,
        "team_id": ctx.team_id,
        "team_domain": ctx.team_domain,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": ctx.api_app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


# -- Events API ------------------------------------------------------------------------------


def event_callback(
    ctx: AppContext, event: dict[str, Any], *, event_id: str, event_time: int
) -> dict[str, Any]:
    """The outer Events API envelope (``type: event_callback``)."""
    context = f"4-{event.get('type')}-{ctx.team_id}-{event.get('channel', '')}"
    return {
        "token": ctx.verification_token,
        "team_id": ctx.team_id,
        "context_team_id": ctx.team_id,
        "context_enterprise_id": None,
        "api_app_id": ctx.api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": event_time,
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": ctx.team_id,
                "user_id": ctx.bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": base64.b64encode(context.encode()).decode().rstrip("="),
    }


def url_verification(ctx: AppContext, challenge: str) -> dict[str, Any]:
    return {"token": ctx.verification_token, "challenge": challenge, "type": "url_verification"}


_MENTION_RE = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


def rich_text_blocks(text: str) -> list[dict[str, Any]]:
    """The rich_text block Slack clients attach to a typed message (mentions become user elements)."""
    elements: list[dict[str, Any]] = []
    pos = 0
    for m in _MENTION_RE.finditer(text):
        if m.start() > pos:
            elements.append({"type": "text", "text": text[pos : m.start()]})
        elements.append({"type": "user", "user_id": m.group(1)})
        pos = m.end()
    if pos < len(text):
        elements.append({"type": "text", "text": text[pos:]})
    return [
        {
            "type": "rich_text",
            "block_id": generate_block_id(),
            "elements": [{"type": "rich_text_section", "elements": elements}],
        }
    ]


def user_message(
    ctx: AppContext,
    *,
    user_id: str,
    text: str,
    ts: str,
    thread_ts: str | None = None,
    parent_user_id: str | None = None,
    blocks: list[dict[str, Any]] | None = None,
    files: list[dict[str, Any]] | None = None,
    attachments: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A message as stored when a human posts it from a Slack client (with ``files``: a file
    share, ``subtype: file_share``; ``attachments``: e.g. a link preview)."""
    msg: dict[str, Any] = {
        "user": user_id,
        "type": "message",
        "ts": ts,
        "client_msg_id": str(uuid.uuid4()),
        "text": text,
        "team": ctx.team_id,
    }
    if thread_ts:
        msg["thread_ts"] = thread_ts
        msg["parent_user_id"] = parent_user_id
    msg["blocks"] = blocks if blocks is not None else rich_text_blocks(text)
    if files:
        msg.update({"subtype": "file_share", "files": files, "upload": False})
    if attachments:
        msg["attachments"] = attachments
    return msg


def shared_file(
    file_id: str, name: str, *, user_id: str, size: int = 1024, created: int = 0
) -> dict[str, Any]:
    """A file as a file-share message carries it (what the app sees: names and links, no content)."""
    extension = name.rpartition(".")[2].lower() if "." in name else "binary"
    return {
        "id": file_id,
        "created": created,
        "timestamp": created,
        "name": name,
        "title": name,
        "mimetype": "application/octet-stream",
        "filetype": extension,
        "pretty_type": extension.upper(),
        "user": user_id,
        "mode": "hosted",
        "is_external": False,
        "is_public": False,
        "size": size,
        "url_private": f"https://files.slack.com/files-pri/T0001-{file_id}/{name}",
        "url_private_download": f"https://files.slack.com/files-pri/T0001-{file_id}/download/{name}",
    }


def message_event(message: dict[str, Any], *, channel: str, channel_type: str) -> dict[str, Any]:
    """A ``message`` event for a stored message (user or bot)."""
    event = copy.deepcopy(message)
    event.pop("metadata", None)
    for key in (
        "reply_count",
        "reply_users_count",
        "latest_reply",
        "reply_users",
        "is_locked",
        "subscribed",
        "reactions",
    ):
        event.pop(key, None)
    event["channel"] = channel
    event["event_ts"] = message["ts"]
    event["channel_type"] = channel_type
    return event


def app_mention_event(message: dict[str, Any], *, channel: str) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "app_mention",
        "user": message.get("user"),
        "text": message.get("text", ""),
        "ts": message["ts"],
        "client_msg_id": message.get("client_msg_id"),
        "team": message.get("team"),
        "blocks": copy.deepcopy(message.get("blocks", [])),
        "channel": channel,
        "event_ts": message["ts"],
    }
    if "thread_ts" in message:
        event["thread_ts"] = message["thread_ts"]
    return event


def message_changed_event(
    new: dict[str, Any], previous: dict[str, Any], *, channel: str, channel_type: str, event_ts: str
) -> dict[str, Any]:
    return {
        "type": "message",
        "subtype": "message_changed",
        "message": {k: copy.deepcopy(v) for k, v in new.items() if k != "metadata"},
        "previous_message": {k: copy.deepcopy(v) for k, v in previous.items() if k != "metadata"},
        "channel": channel,
        "hidden": True,
        "ts": event_ts,
        "event_ts": event_ts,
        "channel_type": channel_type,
    }


def message_deleted_event(
    previous: dict[str, Any], *, channel: str, channel_type: str, event_ts: str
) -> dict[str, Any]:
    event = {
        "type": "message",
        "subtype": "message_deleted",
        "previous_message": {k: copy.deepcopy(v) for k, v in previous.items() if k != "metadata"},
        "channel": channel,
        "hidden": True,
        "deleted_ts": previous["ts"],
        "event_ts": event_ts,
        "ts": event_ts,
        "channel_type": channel_type,
    }
    if "thread_ts" in previous:
        event["thread_ts"] = previous["thread_ts"]
    return event


def app_home_opened_event(
    *, user_id: str, channel: str, event_ts: str, view: dict[str, Any] | None, tab: str = "home"
) -> dict[str, Any]:
    event: dict[str, Any] = {"type": "app_home_opened", "user": user_id, "channel": channel, "tab": tab}
    if view is not None:
        event["view"] = view
    event["event_ts"] = event_ts
    return event


def member_joined_channel_event(
    *, user_id: str, channel: str, channel_type: str, team: str, event_ts: str, inviter: str | None = None
) -> dict[str, Any]:
    event = {
        "type": "member_joined_channel",
        "user": user_id,
        "channel": channel,
        "channel_type": channel_type,
        "team": team,
    }
    if inviter:
        event["inviter"] = inviter
    event["event_ts"] = event_ts
    return event


# -- Socket Mode -----------------------------------------------------------------------------


def socket_envelope(
    kind: str,
    payload: dict[str, Any],
    *,
    envelope_id: str,
    accepts_response_payload: bool,
    retry_attempt: int = 0,
    retry_reason: str = "",
) -> dict[str, Any]:
    """Wrap a payload for Socket Mode (``kind``: events_api, interactive or slash_commands)."""
    env: dict[str, Any] = {
        "envelope_id": envelope_id,
        "payload": payload,
        "type": kind,
        "accepts_response_payload": accepts_response_payload,
    }
    if kind == "events_api":
        env["retry_attempt"] = retry_attempt
        env["retry_reason"] = retry_reason
    return env


def hello(*, app_id: str, num_connections: int) -> dict[str, Any]:
    return {
        "type": "hello",
        "num_connections": num_connections,
        "debug_info": {"host": "applink-emulator", "build_number": 1, "approximate_connection_time": 18060},
        "connection_info": {"app_id": app_id},
    }


def disconnect(reason: str = "refresh_requested") -> dict[str, Any]:
    return {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-emulator"}}


def dumps(payload: Any) -> str:
    """Compact JSON as Slack sends it."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
