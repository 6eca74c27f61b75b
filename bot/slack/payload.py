"""Small pure readers of Slack payloads, so that listeners never dig through raw dicts.

Payloads are untrusted: every reader checks the shape it reads and answers None (or a neutral
value) for anything else.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.discussion import ThreadEvent
from bot.refs import MAX_DIGITS, Click, ItemRef

__all__ = [
    "action_number",
    "action_ref",
    "click",
    "first_action",
    "row_id",
    "selected_value",
    "slack_time",
    "thread_event",
    "user_id",
    "view_value",
]


def user_id(body: dict[str, Any]) -> str:
    # block_actions and view_submission carry $.user.id; slash commands carry $.user_id.
    user = body.get("user")
    return str(user.get("id")) if isinstance(user, dict) else str(body.get("user_id", ""))


def first_action(body: dict[str, Any]) -> dict[str, Any]:
    """The one action of a ``block_actions`` body (Slack sends one per click), or an empty dict."""
    actions = body.get("actions")
    if not isinstance(actions, list) or not actions:
        return {}
    return actions[0] if isinstance(actions[0], dict) else {}


def slack_time(ts: object) -> datetime | None:
    """A Slack timestamp (``"1700000000.123456"``: seconds, then microseconds) as an aware UTC
    time, exactly; None for anything else."""
    if not isinstance(ts, str):
        return None
    seconds, _, fraction = ts.partition(".")
    if not (seconds.isascii() and seconds.isdigit() and len(seconds) <= 11):
        return None
    if fraction and not (fraction.isascii() and fraction.isdigit() and len(fraction) <= 6):
        return None
    return datetime.fromtimestamp(int(seconds), UTC) + timedelta(
        microseconds=int(fraction.ljust(6, "0") or 0)
    )


def click(body: dict[str, Any], action: dict[str, Any]) -> Click:
    """Where (channel, message) and when (``action_ts``) a block_actions click happened."""
    container = body.get("container")
    channel = body.get("channel")
    where = container if isinstance(container, dict) else {}
    channel_id = where.get("channel_id") or (channel.get("id") if isinstance(channel, dict) else None)
    message_ts = where.get("message_ts")
    return Click(
        channel=channel_id if isinstance(channel_id, str) else None,
        message_ts=message_ts if isinstance(message_ts, str) else None,
        at=slack_time(action.get("action_ts")),
        ephemeral=where.get("is_ephemeral") is True,
    )


def action_ref(action: dict[str, Any]) -> ItemRef | None:
    """The item a click is about: a button's value, or (for a select) its block_id ``labels:<ref>``."""
    ref = ItemRef.decode(action.get("value"))
    if ref is None:
        block_id = str(action.get("block_id", ""))
        ref = ItemRef.decode(block_id.partition(":")[2])
    return ref


def row_id(value: object) -> int | None:
    """A value that names a row by id (an escalation, an audit), or None."""
    usable = isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= MAX_DIGITS
    return int(value) if usable and isinstance(value, str) else None


def action_number(action: dict[str, Any]) -> int | None:
    """A button's value that names a row by id (an escalation, an audit), or None."""
    return row_id(action.get("value"))


def selected_value(action: dict[str, Any]) -> str | None:
    option = action.get("selected_option") or {}
    value = option.get("value") if isinstance(option, dict) else None
    return str(value) if value is not None else None


def view_value(view: dict[str, Any], block_id: str) -> str | list[str] | None:
    """The value of the single element in an input block, whatever its type: a string, the values
    of a multi-select or checkboxes, or None (nothing chosen, or not a value labelbot reads)."""
    state = view.get("state")
    values = state.get("values") if isinstance(state, dict) else None
    block = values.get(block_id) if isinstance(values, dict) else None
    if not isinstance(block, dict):
        return None
    element: object = block.get("value") or next(iter(block.values()), {})
    if not isinstance(element, dict):
        return None
    if "selected_option" in element:
        option = element["selected_option"]
        return _string(option.get("value")) if isinstance(option, dict) else None
    if "selected_options" in element:
        options = element["selected_options"]
        chosen = (
            [_string(o.get("value")) for o in options if isinstance(o, dict)]
            if isinstance(options, list)
            else []
        )
        return [v for v in chosen if v is not None]
    return _string(element.get("value"))


def _string(value: object) -> str | None:
    return value if isinstance(value, str) else None


def thread_event(body: dict[str, Any]) -> ThreadEvent | None:
    """An Events API ``message`` event as discussion reads it; None for the kinds it ignores."""
    event = body.get("event") or {}
    if not isinstance(event, dict):
        return None
    event_id = str(body.get("event_id") or "")
    subtype = event.get("subtype")
    channel = str(event.get("channel") or "")
    if subtype in (None, "thread_broadcast"):
        thread_ts = event.get("thread_ts")
        return ThreadEvent(
            "posted",
            event_id,
            channel,
            ts=str(event.get("ts", "")),
            thread_ts=str(thread_ts) if thread_ts else None,
            user=str(event.get("user", "")),
            text=str(event.get("text", "")),
            # message events can have $.event.bot_id while they have no $.event.user
            from_bot=bool(event.get("bot_id")),
        )
    if subtype == "message_changed":
        # The edited message (with its thread_ts) is under $.event.message.
        message = event.get("message") or {}
        return ThreadEvent(
            "edited",
            event_id,
            channel,
            ts=str(message.get("ts", "")),
            text=str(message.get("text", "")),
            from_bot=bool(message.get("bot_id")),
        )
    if subtype == "message_deleted":
        previous = event.get("previous_message") or {}
        return ThreadEvent(
            "deleted", event_id, channel, ts=str(event.get("deleted_ts") or previous.get("ts", ""))
        )
    return None
