"""The ``/label`` slash command: ``help`` and ``stats PROJECT``."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, BoltContext, Respond

from bot.slack.blocks.help import help_message
from bot.slack.blocks.item import notice
from bot.slack.blocks.text import escape
from bot.slack.listeners.routes import Route, runtime

__all__ = ["ROUTES"]


def _words(command: dict[str, Any]) -> list[str]:
    return str(command.get("text", "")).split()


def label_command(ack: Ack, command: dict[str, Any], context: BoltContext) -> None:
    # Help is answered in the ack itself (ephemeral to the caller, no client call); stats
    # needs database work, so it is acknowledged at once and answered lazily.
    words = _words(command)
    sub = words[0].lower() if words else "help"
    config = runtime(context).config
    if sub == "stats" and len(words) == 2:
        ack()
    elif sub in ("help", "stats"):
        ack(response_type="ephemeral", **help_message(config))
    else:
        ack(response_type="ephemeral", **help_message(config, unknown=sub))


def stats(command: dict[str, Any], respond: Respond, context: BoltContext) -> None:
    words = _words(command)
    if len(words) != 2 or words[0].lower() != "stats":
        return
    rt, key = runtime(context), words[1]
    project = next((p for p in rt.config.projects if p.key == key), None)
    if project is None:
        known = ", ".join(f"`{escape(p.key)}`" for p in rt.config.projects)
        respond(**notice(f"No project `{escape(key[:50])}`. Projects: {known}"), response_type="ephemeral")
        return
    respond(**rt.digests.stats(project), response_type="ephemeral")


ROUTES = [Route("command", "/label", label_command, (stats,), decides="reports.build_report")]
