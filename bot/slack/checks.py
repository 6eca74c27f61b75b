"""``labelbot check``: what is wrong, before anything is posted.

The checks run in order, and each runs whatever the ones before it found: the configuration
(always, with its governance: ``bot.governance``), the settings, the database, then Slack (the
token, its scopes against what the configured features need, the bot's membership of every
configured channel, the user groups, the experts and admins). Every expected failure is one
line with its fix, never a traceback; ``check`` exits with the code (``bot.exits``) of the first
problem it reports.
"""

from __future__ import annotations

import socket
import ssl
import urllib.error
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.authorization import is_group
from bot.config import Config, ConfigError, load_config
from bot.exits import ExitCode
from bot.governance import governance_problems
from bot.settings import Settings, SettingsError, config_path_from_env
from bot.slack.scopes import needed_scopes
from storage import db

__all__ = ["Report", "TokenCheck", "check_token", "run_checks"]

FIXES = {
    "not_in_channel": "invite the bot: type /invite @labelbot in the channel",
    "channel_not_found": "check the channel ID, and invite the bot if the channel is private",
    "missing_scope": "add the scope in the app's OAuth settings (manifest.yml lists them) and reinstall",
    "invalid_auth": "the token is wrong or revoked: copy the Bot User OAuth Token (xoxb-) again",
    "not_authed": "set SLACK_BOT_TOKEN",
    "account_inactive": "the app was uninstalled or its workspace deleted: reinstall the app",
    "token_revoked": "the token was revoked: reinstall the app and copy the new token",
    "token_expired": "the token expired: turn off token rotation, or reinstall and copy the new token",
    "not_allowed_token_type": "bot tokens start with xoxb-, app-level tokens with xapp-: use the right one",
    "no_such_subteam": "check the user group ID (S…) in labelbot.yml",
    "user_not_found": "check the user ID (U…) in labelbot.yml",
}
REFUSALS = {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"}
TIMEOUT = 10.0  # seconds for each call to Slack


@dataclass
class Report:
    """Prints one line per check; remembers the code of the first problem."""

    say: Callable[[str], None]
    problems: int = 0
    code: ExitCode = ExitCode.OK

    def ok(self, what: str) -> None:
        self.say(f"ok    {what}")

    def bad(self, what: str, fix: str = "", code: ExitCode = ExitCode.PROBLEMS) -> None:
        self.problems += 1
        if self.code == ExitCode.OK:
            self.code = code
        self.say(f"FAIL  {what}" + (f"\n      fix: {fix}" if fix else ""))

    def skip(self, what: str) -> None:
        self.say(f"skip  {what}")


@dataclass(frozen=True)
class TokenCheck:
    """What ``auth.test`` said of a token: ``problem`` (one line) and its ``code`` when it failed."""

    problem: str | None = None
    code: ExitCode = ExitCode.OK
    fix: str = ""
    user_id: str = ""
    team: str = ""
    scopes: frozenset[str] | None = None  # None: Slack did not say


def client_for(settings: Settings, token: str | None, timeout: float) -> WebClient:
    """A client that fails at once (no retries), so that ``check`` says what happened."""
    # slack_sdk passes the timeout to urllib, which takes a float (its type hint says int).
    return WebClient(token=token, base_url=settings.api_url, timeout=timeout, retry_handlers=[])  # type: ignore[arg-type]


def check_token(client: WebClient, name: str = "SLACK_BOT_TOKEN") -> TokenCheck:
    """Call ``auth.test`` with the client's token and tell apart: unreachable (network, DNS,
    timeout, 5xx), refused (the token), and the wrong kind of token."""
    try:
        response = client.auth_test()
    except SlackApiError as exc:
        return _api_failure(exc, client.base_url, name)
    except (OSError, urllib.error.URLError) as exc:
        reason = network_reason(exc, client.base_url, client.timeout)
        return TokenCheck(
            f"cannot reach Slack at {client.base_url}: {reason}",
            ExitCode.UNREACHABLE,
            "check the network, a proxy, or SLACK_API_URL",
        )
    header = _header(response.headers, "x-oauth-scopes")
    scopes = frozenset(s.strip() for s in header.split(",") if s.strip()) if header is not None else None
    return TokenCheck(
        user_id=str(response.get("user_id") or ""), team=str(response.get("team") or ""), scopes=scopes
    )


def _api_failure(exc: SlackApiError, url: str, name: str) -> TokenCheck:
    status = int(getattr(exc.response, "status_code", 200) or 200)
    data = exc.response.data if isinstance(exc.response.data, dict) else {}
    error = str(data.get("error") or f"HTTP {status}")
    if status == 429 or status >= 500:
        return TokenCheck(
            f"Slack at {url} answered HTTP {status} ({error}); it is not answering normally",
            ExitCode.UNREACHABLE,
            "try again in a minute; https://slack-status.com tells of outages",
        )
    if error == "not_allowed_token_type":
        return TokenCheck(
            f"{name} is not the right kind of token: Slack refused it for this call",
            ExitCode.REFUSED,
            FIXES[error],
        )
    return TokenCheck(f"Slack refused {name}: {error}", ExitCode.REFUSED, FIXES.get(error, ""))


def network_reason(exc: BaseException, url: str, timeout: float | None) -> str:
    """One line for a network failure: DNS, refused, timeout, TLS, or what it was."""
    reason: object = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    host = urlsplit(url).hostname or url
    if isinstance(reason, socket.gaierror):
        return f"the host name {host} cannot be resolved (DNS)"
    if isinstance(reason, ConnectionRefusedError):
        return f"{host} refused the connection"
    if isinstance(reason, TimeoutError | socket.timeout) or "timed out" in str(reason):
        return f"no answer within {timeout or TIMEOUT:g} s (timeout)"
    if isinstance(reason, ssl.SSLError):
        return f"the TLS connection to {host} failed ({reason.reason or type(reason).__name__})"
    if isinstance(reason, ConnectionError):
        return f"the connection to {host} failed ({type(reason).__name__})"
    return f"{type(reason).__name__}: {reason}"


def _header(headers: object, name: str) -> str | None:
    if not isinstance(headers, dict):
        return None
    for key, value in headers.items():
        if str(key).lower() == name:
            return str(value[0] if isinstance(value, list) else value)
    return None


# -- the whole check --------------------------------------------------------------------------
def run_checks(say: Callable[[str], None], timeout: float = TIMEOUT) -> Report:
    """Print one line per check; the report tells how many problems, and the exit code."""
    report = Report(say)
    config = _check_config(report)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        report.bad(f"settings: {exc}", code=ExitCode.BAD_INPUT)
        return report
    try:
        settings.require_slack()
    except SettingsError as exc:
        report.bad(f"settings: {exc}", "see Settings in the README", ExitCode.BAD_INPUT)
        _check_database(report, settings.database_url)
        return report
    report.ok(f"settings ({settings.mode} mode, Slack at {settings.api_url})")
    _check_database(report, settings.database_url)
    bot_token = settings.bot_token.get_secret_value() if settings.bot_token else None
    client = client_for(settings, bot_token, timeout)
    token = check_token(client)
    if token.problem is not None:
        report.bad(token.problem, token.fix, token.code)
        return report
    report.ok(f"token works: bot {token.user_id} in team {token.team}")
    if settings.mode == "socket" and settings.app_token is not None:
        app_token = settings.app_token.get_secret_value()
        _check_app_token(report, client_for(settings, app_token, timeout), app_token)
    if config is None:
        report.skip("channels, user groups and people: the configuration has problems")
        return report
    try:
        private = _check_channels(report, client, config)
        _check_scopes(report, token.scopes, config, private)
        _check_groups(report, client, config)
        _check_people(report, client, config, token.scopes)
    except (OSError, urllib.error.URLError) as exc:  # the network failed after auth.test worked
        reason = network_reason(exc, client.base_url, client.timeout)
        report.bad(f"cannot reach Slack at {client.base_url}: {reason}", code=ExitCode.UNREACHABLE)
    return report


def _check_config(report: Report) -> Config | None:
    path = config_path_from_env()
    try:
        config = load_config(path)
    except ConfigError as exc:
        report.bad(str(exc), code=ExitCode.BAD_INPUT)
        return None
    report.ok(f"configuration {path}: {len(config.projects)} project(s)")
    problems = governance_problems(config)
    for problem in problems:
        what = f"project {problem.project!r} → {problem.setting}: {problem.problem}"
        report.bad(what, problem.fix, ExitCode.BAD_INPUT)
    if not problems:
        report.ok("roles: every project has someone to decide its escalations, and admins")
    return config


def _check_database(report: Report, url: str) -> None:
    try:
        engine = db.make_engine(url)
        try:
            current, head = db.current_revision(engine), db.head_revision()
        finally:
            engine.dispose()
    except Exception as exc:  # the driver's own errors: the URL is redacted, the reason one line
        reason = db.describe_error(exc)
        report.bad(f"database {db.redact_url(url)} cannot be opened: {reason}", code=ExitCode.UNREACHABLE)
        return
    if current in (None, head):
        report.ok(f"database {db.redact_url(url)} ({'new' if current is None else 'current'})")
    else:
        report.bad(f"database schema {current} is outdated (needs {head})", "run `labelbot db upgrade`")


def _check_app_token(report: Report, client: WebClient, app_token: str) -> None:
    """Socket Mode: the app-level token must open a connection (``connections:write``)."""
    try:
        client.apps_connections_open(app_token=app_token)
    except SlackApiError as exc:
        failure = _api_failure(exc, client.base_url, "SLACK_APP_TOKEN")
        fix = "create an app-level token with connections:write (Basic Information → App-Level Tokens)"
        report.bad(
            str(failure.problem), fix if failure.code == ExitCode.REFUSED else failure.fix, failure.code
        )
        return
    except (OSError, urllib.error.URLError) as exc:
        reason = network_reason(exc, client.base_url, client.timeout)
        report.bad(f"cannot reach Slack at {client.base_url}: {reason}", code=ExitCode.UNREACHABLE)
        return
    report.ok("SLACK_APP_TOKEN opens a Socket Mode connection")


def _channels(config: Config) -> dict[str, list[str]]:
    """Every channel the configuration names, with what each is for."""
    uses: dict[str, list[str]] = {}
    for project in config.projects:
        uses.setdefault(project.channel, []).append(f"project {project.key}")
        if project.digest.channel:
            uses.setdefault(project.digest.channel, []).append(f"digests of {project.key}")
        if project.quality.audit_channel:
            uses.setdefault(project.quality.audit_channel, []).append(f"audits of {project.key}")
    return uses


def _check_channels(report: Report, client: WebClient, config: Config) -> dict[str, bool]:
    """Is the bot in each channel? Returns which channels are private (as far as Slack said)."""
    private: dict[str, bool] = {}
    for channel, uses in _channels(config).items():
        what = f"channel {channel} ({', '.join(uses)})"
        try:
            info = client.conversations_info(channel=channel)["channel"]
        except SlackApiError as exc:
            error = _error_of(exc)
            report.bad(f"{what}: {_detail(exc)}", FIXES.get(error, ""), _code_of(error))
            continue
        private[channel] = bool(info.get("is_private"))
        name = info.get("name")
        if info.get("is_archived"):
            report.bad(f"{what} #{name} is archived", "unarchive it, or name another channel")
        elif info.get("is_member"):
            report.ok(f"{what} #{name}: the bot is a member")
        else:
            report.bad(f"the bot is not in {what} #{name}", FIXES["not_in_channel"])
    return private


def _check_scopes(
    report: Report, granted: frozenset[str] | None, config: Config, private: dict[str, bool]
) -> None:
    needed = needed_scopes(config, private)
    if granted is None:
        report.skip("scopes: Slack did not list the token's scopes")
        return
    missing = {scope: why for scope, why in needed.items() if scope not in granted}
    for scope, why in sorted(missing.items()):
        report.bad(
            f"the token lacks the scope {scope}, needed for {'; '.join(why)}",
            FIXES["missing_scope"],
            ExitCode.REFUSED,
        )
    if not missing:
        report.ok(f"scopes: all {len(needed)} that the configured features need are granted")


def _check_groups(report: Report, client: WebClient, config: Config) -> None:
    for group in sorted(
        {
            g
            for project in config.projects
            for g in {*project.annotators, *project.experts.everyone()}
            if is_group(g)
        }
    ):
        try:
            users = client.usergroups_users_list(usergroup=group).get("users") or []
        except SlackApiError as exc:
            error = _error_of(exc)
            report.bad(f"user group {group}: {_detail(exc)}", FIXES.get(error, ""), _code_of(error))
            continue
        if users:
            report.ok(f"user group {group}: {len(users)} member(s)")
        else:
            report.bad(f"user group {group} has no members", "add people to it, or name users instead")


def _check_people(report: Report, client: WebClient, config: Config, granted: frozenset[str] | None) -> None:
    """Experts and admins named by user ID must be real, active people."""
    if granted is not None and "users:read" not in granted:
        report.skip("experts and admins: reading users needs users:read")
        return
    people = sorted({u for project in config.projects for u in project.experts.everyone() if not is_group(u)})
    found = 0
    for user in people:
        try:
            info = client.users_info(user=user)["user"]
        except SlackApiError as exc:
            error = _error_of(exc)
            report.bad(f"expert or admin {user}: {_detail(exc)}", FIXES.get(error, ""), _code_of(error))
            continue
        if info.get("deleted"):
            report.bad(f"expert or admin {user} (@{info.get('name')}) is deactivated", "name someone else")
        elif info.get("is_bot"):
            report.bad(f"expert or admin {user} (@{info.get('name')}) is a bot", "name a person")
        else:
            found += 1
    if found == len(people):
        report.ok(f"experts and admins: {found} user(s), all active")


def _error_of(exc: SlackApiError) -> str:
    """Slack's error code, or the HTTP status when the answer was not Slack's JSON."""
    status = int(getattr(exc.response, "status_code", 200) or 200)
    data = exc.response.data if isinstance(exc.response.data, dict) else {}
    if status >= 500 or not data.get("error"):
        return f"HTTP {status}"
    return str(data["error"])


def _detail(exc: SlackApiError) -> str:
    """The error, with the scope Slack says it needed (``missing_scope``)."""
    error = _error_of(exc)
    needed = exc.response.data.get("needed") if isinstance(exc.response.data, dict) else None
    return f"{error} (needs {needed})" if needed else error


def _code_of(error: str) -> ExitCode:
    if error == "missing_scope" or error in REFUSALS or error == "not_allowed_token_type":
        return ExitCode.REFUSED
    if error.startswith("HTTP 5") or error in ("HTTP 429", "ratelimited"):
        return ExitCode.UNREACHABLE
    return ExitCode.PROBLEMS
