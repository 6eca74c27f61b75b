"""The shapes of the Slack payloads labelbot handles, checked before anything reads them.

Slack's payloads are untrusted input, signed or not (a signing secret can leak, and a replayed
body is signed): ``malformed`` says what is wrong with a body, so the transport answers 400 (and
Socket Mode acknowledges and drops the envelope) instead of a listener failing on it. It checks
the fields labelbot or Bolt read, with their types; it does not check values (an unknown item id
is the domain's to refuse).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["malformed"]

Check = Callable[[dict[str, Any]], str | None]


def malformed(body: object) -> str | None:
    """Why ``body`` is not a payload labelbot can read, or None."""
    if not isinstance(body, dict):
        return "the payload is not an object"
    problem = _envelope(body)
    if problem is not None:
        return problem
    kind = body.get("type")
    if kind is None and "command" in body:
        return _command(body)
    if not isinstance(kind, str):
        return "the payload has no type"
    check = _BY_TYPE.get(kind)
    return check(body) if check else None  # other types: Bolt answers 404 (no listener)


#: Fields Bolt reads from every payload to build a request's context (who, where, which team):
#: each None, a string, or an object (whose ``id``, if any, is a string).
_REFS = ("user", "channel", "team", "enterprise")
#: Nested objects Bolt looks into for the same fields.
_NESTED = ("event", "message", "previous_message", "item", "assistant_thread", "function_data")


def _envelope(body: dict[str, Any]) -> str | None:
    """What Bolt reads before any listener runs (``slack_bolt.request.internals.build_context``)."""
    authorizations = body.get("authorizations")
    if authorizations is not None and not (
        isinstance(authorizations, list) and all(isinstance(a, dict) for a in authorizations)
    ):
        return "authorizations is not a list of objects"
    urls = body.get("response_urls")
    if urls is not None and not (isinstance(urls, list) and all(isinstance(u, dict) for u in urls)):
        return "response_urls is not a list of objects"
    nodes = [("payload", body), *(("authorizations[0]", a) for a in (authorizations or [])[:1])]
    for key in _NESTED:
        if key in body and body[key] is not None:
            if not isinstance(body[key], dict):
                return f"{key} is not an object"
            nodes.append((key, body[key]))
    for where, node in nodes:
        for key in _REFS:
            value = node.get(key)
            if value is None or isinstance(value, str):
                continue
            if not isinstance(value, dict) or not isinstance(value.get("id", ""), str):
                return f"{where}.{key} is neither a string nor an object with a string id"
    return None


def _strings(obj: dict[str, Any], *keys: str, where: str, optional: bool = False) -> str | None:
    for key in keys:
        if key not in obj and optional:
            continue
        if not isinstance(obj.get(key), str):
            return f"{where}.{key} is not a string"
    return None


def _user(body: dict[str, Any]) -> str | None:
    user = body.get("user")
    if not isinstance(user, dict):
        return "user is not an object"
    return _strings(user, "id", where="user")


def _objects(obj: dict[str, Any], *keys: str, where: str) -> str | None:
    """Optional keys that must be objects when present."""
    for key in keys:
        if key in obj and not isinstance(obj[key], dict):
            return f"{where}.{key} is not an object"
    return None


def _action(action: object, where: str) -> str | None:
    if not isinstance(action, dict):
        return f"{where} is not an object"
    problem = _strings(action, "action_id", where=where) or _strings(
        action, "value", "block_id", "action_ts", "type", where=where, optional=True
    )
    if problem:
        return problem
    if "selected_option" in action:
        option = action["selected_option"]
        if option is not None and not (isinstance(option, dict) and isinstance(option.get("value"), str)):
            return f"{where}.selected_option has no string value"
    return None


def _block_actions(body: dict[str, Any]) -> str | None:
    actions = body.get("actions")
    if not isinstance(actions, list) or not actions:
        return "actions is not a non-empty list"
    problems = (_action(a, f"actions[{i}]") for i, a in enumerate(actions))
    return (
        _user(body)
        or next((p for p in problems if p), None)
        or _objects(body, "container", "channel", "message", "team", "view", "state", where="payload")
        or _strings(body, "trigger_id", "response_url", where="payload", optional=True)
    )


def _view(body: dict[str, Any]) -> str | None:
    view = body.get("view")
    if not isinstance(view, dict):
        return "view is not an object"
    # Bolt itself reads view.type (is it a workflow step?) before any listener runs.
    problem = (
        _user(body)
        or _strings(view, "callback_id", "type", where="view")
        or _strings(view, "private_metadata", "id", where="view", optional=True)
    )
    if problem:
        return problem
    state = view.get("state", {})
    values = state.get("values", {}) if isinstance(state, dict) else None
    if not isinstance(values, dict):
        return "view.state.values is not an object"
    for block_id, elements in values.items():
        if not isinstance(elements, dict) or not all(isinstance(e, dict) for e in elements.values()):
            return f"view.state.values.{block_id} is not an object of objects"
    return None


def _event_callback(body: dict[str, Any]) -> str | None:
    event = body.get("event")
    if not isinstance(event, dict):
        return "event is not an object"
    return _strings(event, "type", where="event") or _strings(
        body, "event_id", where="payload", optional=True
    )


def _url_verification(body: dict[str, Any]) -> str | None:
    return _strings(body, "challenge", where="payload")


def _message_action(body: dict[str, Any]) -> str | None:
    """A message shortcut: who, on which message, where, and the trigger for its modal."""
    for key in ("channel", "message"):
        if not isinstance(body.get(key), dict):
            return f"{key} is not an object"
    return (
        _user(body)
        or _strings(body, "callback_id", "trigger_id", where="payload")
        or _strings(body, "message_ts", "response_url", "action_ts", where="payload", optional=True)
        or _strings(body["channel"], "id", where="channel")
        or _strings(body["message"], "ts", where="message")
        or _strings(body["message"], "text", "user", "bot_id", "thread_ts", where="message", optional=True)
    )


def _command(body: dict[str, Any]) -> str | None:
    return _strings(body, "command", "user_id", where="command") or _strings(
        body, "text", "channel_id", "response_url", "trigger_id", where="command", optional=True
    )


_BY_TYPE: dict[str, Check] = {
    "block_actions": _block_actions,
    "view_submission": _view,
    "view_closed": _view,
    "message_action": _message_action,
    "event_callback": _event_callback,
    "url_verification": _url_verification,
}
