"""``labelbot check`` as a new user meets it: every problem found, one line each, the exit code of
the README's table, never a traceback."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from tests.scenarios.conftest import free_port

SILENT: list[socket.socket] = []


def check(bot, *args: str):
    result = bot.cli("check", *args, check=False)
    assert "Traceback" not in result.stdout + result.stderr
    return result


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A server that accepts connections and never answers: Slack timing out."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    yield f"http://127.0.0.1:{server.getsockname()[1]}/api/"
    server.close()


def test_a_good_setup_passes_every_check(bot):
    result = check(bot)
    assert result.returncode == 0, result.stdout
    out = result.stdout
    for line in (
        "configuration",
        "database",
        "token works",
        "channel C0LABELS (project support) #labeling: the bot is a member",
        "scopes: all",
        "user group S0EXPERTS: 1 member(s)",
        "experts and admins:",
        "all checks passed",
    ):
        assert line in out, line


def test_without_tokens_the_configuration_is_still_checked(bot):
    (bot.workdir / "labelbot.yml").write_text("projects:\n  - key: support\n    chanel: C0LABELS\n")
    del bot.env["SLACK_BOT_TOKEN"]
    result = check(bot)
    assert result.returncode == 2
    assert "project 'support' (projects[0])" in result.stdout  # the config's problems ...
    assert "missing setting(s): SLACK_BOT_TOKEN" in result.stdout  # ... and the settings'


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("refused", "refused the connection"),
        (
            "http://labelbot-check.invalid/api/",
            "the host name labelbot-check.invalid cannot be resolved (DNS)",
        ),
        ("silent", "no answer within 0.5 s (timeout)"),
    ],
)
def test_slack_out_of_reach_is_one_line_and_exit_3(bot, url, expected, silent_server):
    bot.env["SLACK_API_URL"] = {
        "refused": f"http://127.0.0.1:{free_port()}/api/",
        "silent": silent_server,
    }.get(url, url)
    result = check(bot, "--timeout", "0.5")
    assert result.returncode == 3, result.stdout
    (line,) = [x for x in result.stdout.splitlines() if x.startswith("FAIL")]
    assert line.startswith("FAIL  cannot reach Slack at ") and line.endswith(expected)


def test_slack_answering_5xx_is_exit_3(bot, slack):
    slack.fail_next("auth.test", status=503)
    result = check(bot)
    assert result.returncode == 3 and "answered HTTP 503" in result.stdout


@pytest.mark.parametrize(
    "error", ["invalid_auth", "account_inactive", "token_revoked", "not_allowed_token_type"]
)
def test_a_refused_token_is_named_with_its_fix_and_exit_4(bot, slack, error):
    slack.fail_next("auth.test", status=200, error=error)
    result = check(bot)
    assert result.returncode == 4, result.stdout
    if error == "not_allowed_token_type":
        assert "SLACK_BOT_TOKEN is not the right kind of token" in result.stdout
    else:
        assert f"Slack refused SLACK_BOT_TOKEN: {error}" in result.stdout
    assert "fix: " in result.stdout and slack.bot_token not in result.stdout


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("SLACK_BOT_TOKEN", "xapp-1-A0-1-abc", "SLACK_BOT_TOKEN holds an app-level token (xapp-)"),
        ("SLACK_BOT_TOKEN", "xoxp-123-456", "SLACK_BOT_TOKEN holds a user token (xoxp-)"),
        ("SLACK_APP_TOKEN", "xoxb-123-456", "SLACK_APP_TOKEN holds a bot token (xoxb-)"),
    ],
)
def test_a_token_of_the_wrong_kind_is_named_and_not_shown(bot, variable, value, expected):
    bot.env[variable] = value
    result = check(bot)
    assert result.returncode == 2 and expected in result.stdout and value not in result.stdout


def test_missing_scopes_are_named_with_the_feature_that_needs_them(bot, slack):
    bot.configure(quality={"audit_rate": 0.5})  # audits by direct message
    slack.set_scopes(
        bot="chat:write,commands,channels:read,groups:read,channels:history,groups:history,users:read"
    )
    result = check(bot)
    assert result.returncode == 4, result.stdout
    out = result.stdout
    assert (
        "the token lacks the scope im:history, needed for finding audits already sent by direct message"
        in out
    )
    assert "the token lacks the scope im:write, needed for audits sent by direct message" in out
    assert "the token lacks the scope usergroups:read, needed for user groups named in labelbot.yml" in out
    assert "the token lacks the scope files:write" in out
    assert "user group S0EXPERTS: missing_scope (needs usergroups:read)" in out  # Slack's own refusal


def test_every_configured_channel_group_and_person_is_checked(bot, slack):
    slack.add_channel("C0DIGEST", "digest", members=["U0ANN1"], bot_member=False)
    slack.add_user("U0GONE", "gone", deleted=True)
    bot.configure(
        digest={"channel": "C0DIGEST"},
        quality={"audit_channel": "C0NOWHERE"},
        experts={"default": ["U0EXPERT", "U0GONE", "S0NOGROUP"], "admins": ["U0NOBODY"]},
    )
    result = check(bot)
    out = result.stdout
    assert result.returncode == 1, out
    assert "the bot is not in channel C0DIGEST (digests of support) #digest" in out
    assert "channel C0NOWHERE (audits of support): channel_not_found" in out
    assert "user group S0NOGROUP: no_such_subteam" in out
    assert "expert or admin U0GONE (@gone) is deactivated" in out
    assert "expert or admin U0NOBODY: user_not_found" in out
    assert out.count("FAIL") == 5


def test_serve_says_slack_is_out_of_reach_not_that_it_rejected_the_token(process_bot):
    process_bot.env["SLACK_API_URL"] = f"http://127.0.0.1:{free_port()}/api/"
    result = process_bot.cli("serve", "--port", str(free_port()), check=False)
    assert result.returncode == 3
    assert "cannot reach Slack at" in result.stderr and "refused the connection" in result.stderr
    assert "rejected" not in result.stderr and "Traceback" not in result.stderr


def test_slack_failing_after_the_token_check_is_still_one_line(bot, slack):
    slack.fail_next("conversations.info", status=500)
    result = check(bot)
    assert result.returncode == 3, result.stdout
    assert "FAIL  channel C0LABELS (project support): HTTP 500" in result.stdout


def test_a_database_out_of_reach_is_one_line_without_its_password(bot):
    bot.env["DATABASE_URL"] = f"postgresql+psycopg://labelbot:s3cret@127.0.0.1:{free_port()}/labels"
    result = check(bot)
    assert result.returncode == 3, result.stdout
    (line,) = [x for x in result.stdout.splitlines() if x.startswith("FAIL")]
    assert "cannot be opened: OperationalError: connection failed" in line and "s3cret" not in line
    status = bot.cli("status", check=False)
    assert status.returncode == 3 and "s3cret" not in status.stderr
    assert status.stderr.count("\n") == 1 and status.stderr.startswith("error: cannot open the database at")


def test_remind_with_slack_out_of_reach_or_refusing_says_so(bot, slack):
    bot.env["SLACK_API_URL"] = f"http://127.0.0.1:{free_port()}/api/"
    result = bot.cli("remind", check=False)
    assert result.returncode == 3 and "cannot reach Slack at" in result.stderr, result.stderr
    bot.env["SLACK_API_URL"] = slack.api_url
    slack.fail_next("auth.test", status=200, error="account_inactive")
    result = bot.cli("remind", check=False)
    assert result.returncode == 4 and "Slack refused SLACK_BOT_TOKEN: account_inactive" in result.stderr
    assert bot.cli("remind").stdout.strip() == "sent 0 reminder(s)"
