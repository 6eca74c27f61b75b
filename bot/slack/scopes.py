"""Which bot scopes the configured features need, and what for (``labelbot check`` names both).

The same list is what ``manifest.yml`` asks for; ``tests/bot/slack/test_scopes.py`` holds the two
together, so a feature that starts calling a new method cannot forget the manifest.
"""

from __future__ import annotations

from bot.authorization import is_group
from bot.config import Config

__all__ = ["ALWAYS", "needed_scopes"]

ALWAYS: dict[str, str] = {
    "chat:write": "posting items, threads, audits and digests, and updating them",
    "commands": "the /label command and the Send to labeling shortcut",
    "users:read": "checking experts and admins (labelbot check)",
    "files:write": "the charts of quality digests",
}


def needed_scopes(config: Config, private: dict[str, bool] | None = None) -> dict[str, list[str]]:
    """Scope → the features of ``config`` that need it. ``private`` tells which channels are private
    (a channel not in it may be either, so both kinds of scope are needed for it)."""
    private = private or {}
    needs: dict[str, list[str]] = {scope: [why] for scope, why in ALWAYS.items()}

    def need(scope: str, why: str) -> None:
        if why not in needs.setdefault(scope, []):
            needs[scope].append(why)

    if any(not project.allow_private_sources for project in config.projects):
        # conversations.info: a private channel the bot is not in cannot be seen, so counts as private
        need("channels:read", "Send to labeling: telling a public channel from a private one")
    for project in config.projects:
        channels = [project.channel, project.digest.channel, project.quality.audit_channel]
        for channel in filter(None, channels):
            kinds = [private[channel]] if channel in private else [False, True]
            for is_private in kinds:
                read, history = ("groups", "groups") if is_private else ("channels", "channels")
                need(f"{read}:read", "checking the bot's channels (labelbot check)")
                need(
                    f"{history}:history",
                    "escalation threads (message events) and finding the bot's earlier posts",
                )
        if project.quality.audit_rate > 0 and project.quality.audit_channel is None:
            need("im:write", "audits sent by direct message")
            need("im:history", "finding audits already sent by direct message")
        if any(is_group(i) for i in {*project.annotators, *project.experts.everyone()}):
            need("usergroups:read", "user groups named in labelbot.yml")
    return needs
