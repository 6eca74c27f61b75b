"""OAuth scopes: which scope each Web API method needs, as Slack's method reference gives it.

Most methods need one scope whatever they act on (``chat:write`` for posting, ``usergroups:read``
for user groups); the Conversations API's need depends on the conversation's type: reading a
public channel's history needs ``channels:history``, a private channel's ``groups:history``, a
DM's ``im:history`` and a group DM's ``mpim:history``. A call without its scope is refused as
Slack refuses it: HTTP 200 + ``{"ok": false, "error": "missing_scope", "needed": ...,
"provided": ...}``, ``provided`` being the token's granted scopes, comma-separated.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "ALL_BOT_SCOPES",
    "APP_SCOPES",
    "CONVERSATION_SCOPES",
    "LIST_TYPES",
    "METHOD_SCOPES",
    "conversation_scope",
    "missing_scope",
    "ordered",
]

# Methods whose scope does not depend on what they act on; None: no scope needed.
METHOD_SCOPES: dict[str, str | None] = {
    "api.test": None,
    "auth.test": None,
    "apps.connections.open": "connections:write",  # an app-level token's scope
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "chat.delete": "chat:write",
    "chat.postEphemeral": "chat:write",
    "chat.getPermalink": None,
    "users.info": "users:read",
    "users.list": "users:read",
    "usergroups.list": "usergroups:read",
    "usergroups.users.list": "usergroups:read",
    "reactions.add": "reactions:write",
    "reactions.remove": "reactions:write",
    "views.open": None,
    "views.push": None,
    "views.update": None,
    "views.publish": None,
    "files.getUploadURLExternal": "files:write",
    "files.completeUploadExternal": "files:write",
    "files.upload": "files:write",
    "files.info": "files:read",
}

_READ = {"channel": "channels:read", "group": "groups:read", "im": "im:read", "mpim": "mpim:read"}
_HISTORY = {
    "channel": "channels:history",
    "group": "groups:history",
    "im": "im:history",
    "mpim": "mpim:history",
}

# The Conversations API: the scope by conversation type ("channel" public, "group" private, "im",
# "mpim"). conversations.open starts or resumes a DM (im:write) or a group DM (mpim:write) only.
CONVERSATION_SCOPES: dict[str, dict[str, str]] = {
    "conversations.history": _HISTORY,
    "conversations.replies": _HISTORY,
    "conversations.info": _READ,
    "conversations.members": _READ,
    "conversations.list": _READ,
    "conversations.open": {"im": "im:write", "mpim": "mpim:write"},
}

# conversations.list's ``types`` values, as conversation types.
LIST_TYPES = {"public_channel": "channel", "private_channel": "group", "im": "im", "mpim": "mpim"}

# Every bot scope the emulator knows of (the default grant), with ``commands`` (slash commands).
ALL_BOT_SCOPES: tuple[str, ...] = tuple(
    sorted(
        {s for s in METHOD_SCOPES.values() if s is not None and s != "connections:write"}
        | {s for by_type in CONVERSATION_SCOPES.values() for s in by_type.values()}
        | {"commands"}
    )
)
APP_SCOPES: tuple[str, ...] = ("connections:write",)


def conversation_scope(method: str, channel_type: str) -> str:
    """The scope ``method`` needs on a conversation of ``channel_type``."""
    return CONVERSATION_SCOPES[method][channel_type]


def missing_scope(needed: str, granted: tuple[str, ...]) -> dict[str, str] | None:
    """Slack's refusal when ``needed`` is not among ``granted`` (the fields after ``ok``), else None."""
    if needed in granted:
        return None
    return {"error": "missing_scope", "needed": needed, "provided": ",".join(granted)}


def ordered(scopes: Iterable[str]) -> tuple[str, ...]:
    """``scopes`` without repeats, in the order given (a string is one comma-separated list)."""
    if isinstance(scopes, str):
        scopes = scopes.split(",")
    out: list[str] = []
    for scope in scopes:
        scope = scope.strip()
        if scope and scope not in out:
            out.append(scope)
    return tuple(out)
