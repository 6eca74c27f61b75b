"""Slack listeners: thin handlers that ack, read the payload, call the domain, render, and call Slack once."""

from __future__ import annotations

from slack_bolt import App

from bot.listeners import actions, commands, events, views
from bot.runtime import Runtime

__all__ = ["register"]


def register(app: App, rt: Runtime) -> None:
    actions.register(app, rt)
    views.register(app, rt)
    commands.register(app, rt)
    events.register(app, rt)
