"""Reading manifest.yml: the bot scopes and events it asks for."""

from __future__ import annotations

import pytest

from bot.slack.manifest import bot_events, bot_scopes
from tests.app_manifest import MANIFEST


def test_the_manifest_asks_for_the_scopes_the_bot_calls_need():
    scopes = bot_scopes(MANIFEST)
    # im:history: audits sent by direct message look for their earlier post in the DM's history
    assert {"chat:write", "channels:history", "groups:history", "im:history", "im:write"} <= scopes
    assert {"usergroups:read", "files:write", "channels:read", "groups:read", "commands"} <= scopes
    assert "users:read" in scopes  # kept for `labelbot check`
    assert bot_events(MANIFEST) == {"app_home_opened", "message.channels", "message.groups"}


def test_a_manifest_without_scopes_or_events_gives_none(tmp_path):
    path = tmp_path / "manifest.yml"
    path.write_text("display_information:\n  name: x\n")
    assert bot_scopes(path) == frozenset() and bot_events(path) == frozenset()


@pytest.mark.parametrize(
    "text",
    ["- a list\n", "oauth_config:\n  scopes:\n    bot: chat:write\n"],
)
def test_a_malformed_manifest_is_refused(tmp_path, text):
    path = tmp_path / "manifest.yml"
    path.write_text(text)
    with pytest.raises(ValueError, match=r"manifest|oauth_config\.scopes\.bot"):
        bot_scopes(path)


def test_the_manifest_declares_the_message_shortcut(tmp_path):
    from bot.slack import ids
    from bot.slack.manifest import message_shortcuts

    assert message_shortcuts(MANIFEST) == {ids.SEND_TO_LABELING}
    path = tmp_path / "manifest.yml"
    path.write_text("features:\n  shortcuts:\n    - {name: G, type: global, callback_id: g}\n")
    assert message_shortcuts(path) == frozenset()
    path.write_text("features:\n  shortcuts:\n    - {name: M, type: message}\n")
    with pytest.raises(ValueError, match=r"features\.shortcuts"):
        message_shortcuts(path)
