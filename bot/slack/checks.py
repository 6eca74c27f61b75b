"""``labelbot check``: what is wrong, before anything is posted."""

from __future__ import annotations

from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.authorization import is_group
from bot.config import ConfigError, ProjectConfig, load_config
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


class _Report:
    """Prints one line per check and counts the problems."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self.say, self.problems = say, 0

    def ok(self, what: str) -> None:
        self.say(f"ok    {what}")

    def bad(self, what: str, fix: str = "") -> None:
        self.problems += 1
        self.say(f"FAIL  {what}" + (f"\n      fix: {fix}" if fix else ""))


def run_checks(say: Callable[[str], None]) -> int:
    """Print one line per check; returns the number of problems."""
    report = _Report(say)
    try:
        settings = Settings.from_env()
        settings.require_slack()
        report.ok(f"settings ({settings.mode} mode)")
        config = load_config(settings.config_path)
        report.ok(f"configuration {settings.config_path}: {len(config.projects)} project(s)")
    except (SettingsError, ConfigError) as exc:
        report.bad(str(exc))
        return report.problems
    _check_database(report, settings.database_url)
    from bot.slack.app import make_client

    client = make_client(settings)
    try:
        auth = client.auth_test()
        report.ok(f"token works: bot {auth.get('user_id')} in team {auth.get('team')}")
    except SlackApiError as exc:
        error = str(exc.response.get("error"))
        report.bad(f"auth.test failed: {error}", FIXES.get(error, ""))
        return report.problems
    for project in config.projects:
        _check_channel(report, client, project)
    for group in sorted({g for project in config.projects for g in _groups(project)}):
        try:
            users = client.usergroups_users_list(usergroup=group).get("users") or []
            report.ok(f"user group {group}: {len(users)} member(s)")
        except SlackApiError as exc:
            error = str(exc.response.get("error"))
            report.bad(f"user group {group}: {error}", FIXES.get(error, "needs the usergroups:read scope"))
    return report.problems


def _check_database(report: _Report, url: str) -> None:
    try:
        engine = db.make_engine(url)
        current, head = db.current_revision(engine), db.head_revision()
        if current in (None, head):
            report.ok(f"database {db.redact_url(url)} ({'new' if current is None else 'current'})")
        else:
            report.bad(f"database schema {current} is outdated (needs {head})", "run `labelbot db upgrade`")
    except Exception as exc:
        report.bad(f"database {db.redact_url(url)} unreachable: {type(exc).__name__}")


def _check_channel(report: _Report, client: WebClient, project: ProjectConfig) -> None:
    try:
        info = client.conversations_info(channel=project.channel)["channel"]
    except SlackApiError as exc:
        error = str(exc.response.get("error"))
        report.bad(f"project {project.key}: channel {project.channel}: {error}", FIXES.get(error, ""))
        return
    name = info.get("name")
    if info.get("is_member"):
        report.ok(f"project {project.key}: channel {project.channel} (#{name}), bot is a member")
    else:
        report.bad(
            f"project {project.key}: the bot is not in channel {project.channel} (#{name})",
            FIXES["not_in_channel"],
        )


def _groups(project: ProjectConfig) -> set[str]:
    """The user groups a project names anywhere (annotators, experts, admins)."""
    ids = [*project.annotators, *project.experts.default, *project.experts.admins]
    ids += [i for v in project.experts.by_label.values() for i in v]
    ids += [i for f in project.experts.by_field.values() for v in f.values() for i in v]
    return {i for i in ids if is_group(i)}
