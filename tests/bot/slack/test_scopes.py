"""The scopes the features need (``bot.slack.scopes``) are the ones ``manifest.yml`` asks for."""

from __future__ import annotations

from pathlib import Path

from bot.slack.manifest import bot_scopes
from bot.slack.scopes import needed_scopes
from tests.bot.conftest import make_config

MANIFEST = Path(__file__).resolve().parents[3] / "manifest.yml"


def manifest_scopes() -> set[str]:
    return set(bot_scopes(MANIFEST))


def test_every_scope_a_feature_needs_is_in_the_manifest():
    everything = make_config(  # every feature on: DM audits, a digest channel, user groups
        annotators=["S0ANN"], quality={"audit_rate": 0.5}, digest={"channel": "C0DIGEST"}
    )
    needed = needed_scopes(everything)  # channels of unknown kind: public and private scopes
    assert set(needed) <= manifest_scopes(), set(needed) - manifest_scopes()
    assert {"im:history", "im:write", "usergroups:read", "groups:history", "files:write"} <= set(needed)


def test_what_a_small_setup_needs():
    small = make_config(experts={"admins": ["U0ADMIN"]})
    needed = needed_scopes(small, private={"C0LABELS": False})
    assert set(needed) == {
        "chat:write",
        "commands",
        "users:read",
        "files:write",
        "channels:read",
        "channels:history",
    }
    assert needed["channels:history"] == [
        "escalation threads (message events) and finding the bot's earlier posts"
    ]


def test_the_shortcut_needs_channels_read_unless_every_project_takes_private_sources():
    private = {"C0LABELS": True}
    needed = needed_scopes(make_config(experts={"admins": ["U0ADMIN"]}), private=private)
    assert needed["channels:read"] == ["Send to labeling: telling a public channel from a private one"]
    assert "the Send to labeling shortcut" in needed["commands"][0]
    taking = make_config(experts={"admins": ["U0ADMIN"]}, allow_private_sources=True)
    assert "channels:read" not in needed_scopes(taking, private=private)
