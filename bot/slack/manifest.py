"""What the Slack app manifest (``manifest.yml``) asks for: the bot's OAuth scopes, the bot
events it subscribes to and its message shortcuts. The tests grant the emulator exactly these
scopes, so that a Web API call the manifest does not cover fails in the tests as it would in Slack
(``missing_scope``), and offer users only the shortcuts it declares."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

__all__ = ["bot_events", "bot_scopes", "message_shortcuts"]


def _load(path: str | Path) -> dict[str, Any]:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a Slack app manifest (a mapping at the top)")
    return data


def _strings(value: Any, where: str) -> frozenset[str]:
    if value is None:
        return frozenset()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{where}: expected a list of strings")
    return frozenset(value)


def bot_scopes(path: str | Path) -> frozenset[str]:
    """The bot token's scopes the manifest at ``path`` requests (``oauth_config.scopes.bot``)."""
    scopes = (_load(path).get("oauth_config") or {}).get("scopes") or {}
    return _strings(scopes.get("bot"), f"{path}: oauth_config.scopes.bot")


def bot_events(path: str | Path) -> frozenset[str]:
    """The bot events the manifest at ``path`` subscribes to (``settings.event_subscriptions``)."""
    subscriptions = (_load(path).get("settings") or {}).get("event_subscriptions") or {}
    return _strings(subscriptions.get("bot_events"), f"{path}: settings.event_subscriptions.bot_events")


def message_shortcuts(path: str | Path) -> frozenset[str]:
    """The callback_ids of the message shortcuts the manifest at ``path`` declares
    (``features.shortcuts`` of ``type: message``)."""
    shortcuts = (_load(path).get("features") or {}).get("shortcuts") or []
    where = f"{path}: features.shortcuts"
    if not isinstance(shortcuts, list) or not all(isinstance(s, dict) for s in shortcuts):
        raise ValueError(f"{where}: expected a list of shortcuts")
    ids = [s.get("callback_id") for s in shortcuts if s.get("type") == "message"]
    return _strings(ids, where + " callback_id")
