"""Settings from the environment: a malformed value is refused by name, and never echoed when it
may hold a secret (tokens, a URL's user info or token-like query parameters)."""

import pytest

from bot.settings import Settings, SettingsError

SECRET = "hunter2-secret"


def refused(**env: str) -> str:
    with pytest.raises(SettingsError) as info:
        Settings.from_env(env)
    return str(info.value)


def test_api_url_default_and_trailing_slash():
    assert Settings.from_env({}).api_url == "https://slack.com/api/"
    assert Settings.from_env({"SLACK_API_URL": " http://127.0.0.1:8080/api "}).api_url == (
        "http://127.0.0.1:8080/api/"
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"ftp://bot:{SECRET}@proxy.example/api/", "SLACK_API_URL must start with http:// or https://"),
        (f"xoxb-{SECRET}", "SLACK_API_URL must start with http:// or https://"),
        (
            f"https://bot:{SECRET}@proxy.example/api/",
            "SLACK_API_URL must not contain a user name or password",
        ),
        (f"https://{SECRET}@proxy.example/api/", "SLACK_API_URL must not contain a user name or password"),
        (f"https://proxy.example/api/?token={SECRET}", "SLACK_API_URL must not have a query string"),
        (f"https://proxy.example/api/#{SECRET}", "SLACK_API_URL must not have a query string or fragment"),
        ("https:///api/", "SLACK_API_URL has no host name"),
        (f"https://proxy.example/api/{SECRET} x/", "SLACK_API_URL must not contain white space"),
        (f"https://proxy.example:{SECRET}/api/", "SLACK_API_URL has an invalid port"),
    ],
)
def test_bad_api_url_says_what_is_wrong_without_echoing_it(url, expected):
    message = refused(SLACK_API_URL=url)
    assert expected in message
    assert SECRET not in message and "value not shown" in message


def test_unparsable_database_url_is_not_echoed():
    message = refused(DATABASE_URL=f"postgresql://bot:{SECRET}@db.example:port/labels")
    assert "DATABASE_URL" in message and SECRET not in message and "value not shown" in message
    assert Settings.from_env({"DATABASE_URL": "postgresql://bot@db/labels"}).database_url == (
        "postgresql://bot@db/labels"
    )


def test_malformed_tokens_are_not_echoed():
    message = refused(SLACK_BOT_TOKEN=f"xoxp-{SECRET}")
    assert "SLACK_BOT_TOKEN holds a user token (xoxp-)" in message and SECRET not in message
    message = refused(SLACK_BOT_TOKEN=f"zz-{SECRET}")
    assert "SLACK_BOT_TOKEN is malformed: it must start with xoxb-" in message and SECRET not in message
    message = refused(SLACK_SIGNING_SECRET=f"{SECRET} {SECRET}")
    assert "SLACK_SIGNING_SECRET" in message and SECRET not in message
