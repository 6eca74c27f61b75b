"""Slack listeners, one module per concern; each lists its routes (``routes.Route``).

A listener reads the payload, calls the domain, renders, and makes one client call. The
runtime comes from Bolt's context; no listener imports a database module.
"""

from __future__ import annotations

from slack_bolt import App

from bot.slack.listeners import (
    audits,
    commands,
    decisions,
    events,
    home,
    labels,
    openers,
    sessions,
    shortcuts,
    submissions,
)
from bot.slack.listeners.routes import Route

__all__ = ["ROUTES", "register"]

ROUTES: list[Route] = [
    *labels.ROUTES,
    *sessions.ROUTES,
    *openers.ROUTES,
    *decisions.ROUTES,
    *audits.ROUTES,
    *submissions.ROUTES,
    *commands.ROUTES,
    *home.ROUTES,
    *shortcuts.ROUTES,
    *events.ROUTES,
]


def register(app: App) -> None:
    """Register every route on ``app``."""
    for route in ROUTES:
        add = {
            "action": app.action,
            "view": app.view,
            "command": app.command,
            "event": app.event,
            "shortcut": app.shortcut,
        }[route.kind]
        if route.lazy:
            add(route.match)(ack=route.ack, lazy=list(route.lazy))
        else:
            add(route.match)(route.ack)
