"""``labelbot check``: what is wrong, before anything is posted."""

from __future__ import annotations

from collections.abc import Callable

from slack_sdk.errors import SlackApiError

from bot.config import ConfigError, load_config
from bot.settings import Settings, SettingsError
from storage import db

__all__ = ["run_checks"]

FIXES = {
    "not_in_channel": "invite the bot: type /invite @labelbot in the channel",
    "channel_not_found": "check the channel ID, and invite the bot if the channel is private",
    "missing_scope": "add the scope in the app's OAuth settings (manifest.yml lists them) and reinstall",
    "invalid_auth": "the token is wrong or revoked: copy the Bot User OAuth Token again",
    "not_authed": "set SLACK_BOT_TOKEN",
    "account_inactive": "the app was uninstalled: reinstall it",
}


def run_checks(say: Callable[[str], None]) -> int:
    """Print one line per check; returns the number of problems."""
    problems = 0

    def ok(what: str) -> None:
        say(f"ok    {what}")

    def bad(what: str, fix: str = "") -> None:
        nonlocal problems
        problems += 1
        say(f"FAIL  {what}" + (f"\n      fix: {fix}" if fix else ""))

    try:
        settings = Settings.from_env()
        settings.require_slack()
        ok(f"settings ({settings.mode} mode)")
    except SettingsError as exc:
        bad(str(exc))
        return problems
    try:
        config = load_config(settings.config_path)
        ok(f"configuration {settings.config_path}: {len(config.projects)} project(s)")
    except ConfigError as exc:
        bad(str(exc))
        return problems
    try:
        engine = db.make_engine(settings.database_url)
        current, head = db.current_revision(engine), db.head_revision()
        if current in (None, head):
            ok(f"database {db.redact_url(settings.database_url)} ({'new' if current is None else 'current'})")
        else:
            bad(f"database schema {current} is outdated (needs {head})", "run `labelbot db upgrade`")
    except Exception as exc:
        bad(f"database {db.redact_url(settings.database_url)} unreachable: {type(exc).__name__}")
    from bot.slack.app import make_client

    client = make_client(settings)
    try:
        auth = client.auth_test()
        ok(f"token works: bot {auth.get('user_id')} in team {auth.get('team')}")
    except SlackApiError as exc:
        error = str(exc.response.get("error"))
        bad(f"auth.test failed: {error}", FIXES.get(error, ""))
        return problems
    groups: set[str] = set()
    for project in config.projects:
        try:
            info = client.conversations_info(channel=project.channel)["channel"]
            name = info.get("name")
            if info.get("is_member"):
                ok(f"project {project.key}: channel {project.channel} (#{name}), bot is a member")
            else:
                bad(
                    f"project {project.key}: the bot is not in channel {project.channel} (#{name})",
                    FIXES["not_in_channel"],
                )
        except SlackApiError as exc:
            error = str(exc.response.get("error"))
            bad(f"project {project.key}: channel {project.channel}: {error}", FIXES.get(error, ""))
        ids = [*project.annotators, *project.experts.default, *project.experts.admins]
        ids += [i for v in project.experts.by_label.values() for i in v]
        ids += [i for f in project.experts.by_field.values() for v in f.values() for i in v]
        groups |= {i for i in ids if i.startswith("S")}
    for group in sorted(groups):
        try:
            users = client.usergroups_users_list(usergroup=group).get("users") or []
            ok(f"user group {group}: {len(users)} member(s)")
        except SlackApiError as exc:
            error = str(exc.response.get("error"))
            bad(f"user group {group}: {error}", FIXES.get(error, "needs the usergroups:read scope"))
    return problems
