"""The parts of Bolt's internals that labelbot relies on, imported here and nowhere else.

Bolt's Starlette adapter reads the body, builds a ``BoltRequest`` (which parses it) and turns the
``BoltResponse`` into Starlette's. ``bot.slack.transport`` does the same with a faster body parser,
so it needs the adapter's helpers, which Bolt does not document as public API. A Bolt upgrade
that moves or changes them fails ``tests/slack/test_bolt_compat.py`` loudly, instead of clicks
failing in production. ``pyproject.toml`` caps slack-bolt below its next major version.
"""

from __future__ import annotations

from slack_bolt.adapter.starlette.handler import to_starlette_response
from slack_bolt.request.internals import build_normalized_headers, extract_content_type, parse_body

__all__ = ["build_normalized_headers", "extract_content_type", "parse_body", "to_starlette_response"]
