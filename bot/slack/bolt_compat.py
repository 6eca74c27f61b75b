"""The parts of Bolt's internals that labelbot relies on, imported here and nowhere else.

Bolt's Starlette adapter reads the body, builds a ``BoltRequest`` (which parses it) and turns the
``BoltResponse`` into Starlette's. ``bot.slack.transport`` does the same with a faster body parser,
so it needs the adapter's helpers, which Bolt does not document as public API; the Socket Mode
handler (``bot.slack.socket_mode``) reuses the built-in adapter's dispatch and response helpers.
A Bolt upgrade that moves or changes them fails ``tests/bot/slack/test_bolt_compat.py`` loudly,
instead of clicks failing in production. ``pyproject.toml`` caps slack-bolt below its next major.
"""

from __future__ import annotations

from slack_bolt.adapter.socket_mode.base_handler import BaseSocketModeHandler
from slack_bolt.adapter.socket_mode.internals import run_bolt_app, send_response
from slack_bolt.adapter.starlette.handler import to_starlette_response
from slack_bolt.request.internals import build_normalized_headers, extract_content_type, parse_body

__all__ = [
    "BaseSocketModeHandler",
    "build_normalized_headers",
    "extract_content_type",
    "parse_body",
    "run_bolt_app",
    "send_response",
    "to_starlette_response",
]
