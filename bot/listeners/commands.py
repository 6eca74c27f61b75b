"""The ``/label`` slash command."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond

from bot.blocks.help import help_message
from bot.blocks.item import notice
from bot.blocks.text import escape
from bot.runtime import Runtime

__all__ = ["register"]


def _words(command: dict[str, Any]) -> list[str]:
    return str(command.get("text", "")).split()


def register(app: App, rt: Runtime) -> None:
    def ack_command(ack: Ack, command: dict[str, Any]) -> None:
        # Help is answered in the ack itself (ephemeral to the caller, no client call);
        # stats needs database work, so it is acknowledged at once and answered lazily.
        words = _words(command)
        sub = words[0].lower() if words else "help"
        if sub == "stats" and len(words) == 2:
            ack()
        elif sub in ("help", "stats"):
            ack(response_type="ephemeral", **help_message(rt.config))
        else:
            ack(response_type="ephemeral", **help_message(rt.config, unknown=sub))

    def stats(command: dict[str, Any], respond: Respond) -> None:
        words = _words(command)
        if len(words) != 2 or words[0].lower() != "stats":
            return
        key = words[1]
        project = next((p for p in rt.config.projects if p.key == key), None)
        if project is None:
            known = ", ".join(f"`{escape(p.key)}`" for p in rt.config.projects)
            respond(
                **notice(f"No project `{escape(key[:50])}`. Projects: {known}"), response_type="ephemeral"
            )
            return
        respond(**rt.digests.stats(project), response_type="ephemeral")

    app.command("/label")(ack=ack_command, lazy=[stats])
