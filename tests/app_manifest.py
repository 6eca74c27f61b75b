"""The Slack app as ``manifest.yml`` declares it. Every test that runs the real bot against the
emulator grants it exactly these scopes, so that a Web API call the manifest does not cover fails in
the tests (``missing_scope``) as it would in Slack."""

from __future__ import annotations

from pathlib import Path

from bot.slack.manifest import bot_events, bot_scopes, message_shortcuts

__all__ = ["BOT_EVENTS", "BOT_SCOPES", "MANIFEST", "MESSAGE_SHORTCUTS"]

MANIFEST = Path(__file__).resolve().parents[1] / "manifest.yml"
BOT_SCOPES: tuple[str, ...] = tuple(sorted(bot_scopes(MANIFEST)))
BOT_EVENTS: frozenset[str] = bot_events(MANIFEST)
MESSAGE_SHORTCUTS: frozenset[str] = message_shortcuts(MANIFEST)
