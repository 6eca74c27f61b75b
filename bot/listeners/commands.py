"""The ``/label`` slash command."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.blocks.help import help_message
from bot.runtime import Runtime

__all__ = ["register"]


def register(app: App, rt: Runtime) -> None:
    @app.command("/label")
    def label_command(ack: Ack, command: dict[str, Any]) -> None:
        # Answered in the ack itself: the reply is ephemeral to the caller and needs no client call.
        words = str(command.get("text", "")).split()
        sub = words[0].lower() if words else "help"
        if sub == "help":
            ack(response_type="ephemeral", **help_message(rt.config))
        else:
            ack(response_type="ephemeral", **help_message(rt.config, unknown=sub))
