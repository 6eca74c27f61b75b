"""Small pure readers of Slack payloads, so that handlers never dig through raw dicts."""

from __future__ import annotations

from typing import Any

from bot.blocks.ids import ItemRef

__all__ = ["action", "action_ref", "selected_value", "user_id", "view_value"]


def user_id(body: dict[str, Any]) -> str:
    # block_actions and view_submission carry $.user.id; slash commands carry $.user_id.
    user = body.get("user")
    return str(user.get("id")) if isinstance(user, dict) else str(body.get("user_id", ""))


def action(body: dict[str, Any]) -> dict[str, Any]:
    actions = body.get("actions") or [{}]
    return actions[0] if isinstance(actions[0], dict) else {}


def action_ref(body: dict[str, Any]) -> ItemRef | None:
    """The item a click is about: a button's value, or (for a select) its block_id ``labels:<ref>``."""
    act = action(body)
    ref = ItemRef.decode(act.get("value"))
    if ref is None:
        block_id = str(act.get("block_id", ""))
        ref = ItemRef.decode(block_id.partition(":")[2])
    return ref


def selected_value(body: dict[str, Any]) -> str | None:
    option = action(body).get("selected_option") or {}
    value = option.get("value")
    return str(value) if value is not None else None


def view_value(view: dict[str, Any], block_id: str) -> Any:
    """The value of the single element in an input block, whatever its type."""
    block = (view.get("state") or {}).get("values", {}).get(block_id) or {}
    element = block.get("value") or next(iter(block.values()), {})
    if "selected_option" in element:
        option = element.get("selected_option")
        return option.get("value") if option else None
    if "selected_options" in element:
        return [o.get("value") for o in element.get("selected_options") or []]
    return element.get("value")
