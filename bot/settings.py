"""Settings from the environment; secrets stay wrapped so they never reach a log."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from pydantic import SecretStr
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from storage.db import DEFAULT_DATABASE_URL

__all__ = ["DEFAULT_SLACK_API_URL", "Settings", "SettingsError", "config_path_from_env"]

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
TOKEN_SHAPES = {  # matched whole: ``$`` would let a trailing newline through
    "SLACK_BOT_TOKEN": re.compile(r"xoxb-[A-Za-z0-9-]+"),
    "SLACK_APP_TOKEN": re.compile(r"xapp-[A-Za-z0-9-]+"),
}
TOKEN_KINDS = {  # what a token pasted into the wrong variable is, by its prefix
    "xoxb-": "a bot token (xoxb-)",
    "xoxp-": "a user token (xoxp-)",
    "xapp-": "an app-level token (xapp-)",
    "xoxe": "a token-rotation token (xoxe)",
}
NOT_SHOWN = "(value not shown: it may hold a secret)"


def config_path_from_env(env: Mapping[str, str] | None = None) -> str:
    """``LABELBOT_CONFIG``, or ``labelbot.yml``: readable even when other settings are malformed."""
    env = os.environ if env is None else env
    return env.get("LABELBOT_CONFIG", "").strip() or "labelbot.yml"


class SettingsError(ValueError):
    """A setting the chosen mode needs is missing or malformed (the message names it)."""


@dataclass(frozen=True)
class Settings:
    bot_token: SecretStr | None = None
    signing_secret: SecretStr | None = None
    app_token: SecretStr | None = None
    api_url: str = DEFAULT_SLACK_API_URL
    database_url: str = DEFAULT_DATABASE_URL
    config_path: str = "labelbot.yml"
    # Where ``serve`` listens when its flags say nothing: LABELBOT_HOST; LABELBOT_PORT, else PORT
    # (what hosting platforms set).
    host: str | None = None
    port: int | None = None
    log_format: Literal["text", "json"] = "text"
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env

        def secret(name: str) -> SecretStr | None:
            value = env.get(name, "").strip()
            if not value:
                return None
            shape = TOKEN_SHAPES.get(name)
            own = "xoxb-" if name == "SLACK_BOT_TOKEN" else "xapp-"
            kind = next(
                (k for prefix, k in TOKEN_KINDS.items() if value.startswith(prefix) and prefix != own), None
            )
            if shape and not shape.fullmatch(value) and kind is not None:
                wanted = (
                    "the Bot User OAuth Token (xoxb-)"
                    if name == "SLACK_BOT_TOKEN"
                    else "an app-level token (xapp-)"
                )
                raise SettingsError(f"{name} holds {kind}; it needs {wanted} (value not shown)")
            if shape and not shape.fullmatch(value):
                prefix = "xoxb-" if name == "SLACK_BOT_TOKEN" else "xapp-"
                # Never echo the value: it may be a real secret pasted into the wrong variable.
                raise SettingsError(f"{name} is malformed: it must start with {prefix} (value not shown)")
            if any(c.isspace() for c in value):
                raise SettingsError(f"{name} is malformed: it contains white space (value not shown)")
            return SecretStr(value)

        return cls(
            bot_token=secret("SLACK_BOT_TOKEN"),
            signing_secret=secret("SLACK_SIGNING_SECRET"),
            app_token=secret("SLACK_APP_TOKEN"),
            api_url=_api_url(env.get("SLACK_API_URL", "").strip() or DEFAULT_SLACK_API_URL),
            database_url=_database_url(env.get("DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL),
            config_path=config_path_from_env(env),
            host=_host(env.get("LABELBOT_HOST", "").strip()),
            port=_port(env, "LABELBOT_PORT") or _port(env, "PORT"),
            log_format=_log_format(env.get("LABELBOT_LOG_FORMAT", "").strip().lower() or "text"),
        )

    @property
    def mode(self) -> Literal["socket", "http"]:
        return "socket" if self.app_token else "http"

    def require_slack(self, mode: Literal["socket", "http"] | None = None) -> None:
        """Fail fast, naming every missing setting that ``mode`` needs."""
        mode = mode or self.mode
        missing = ["SLACK_BOT_TOKEN"] if self.bot_token is None else []
        if mode == "http" and self.signing_secret is None:
            missing.append("SLACK_SIGNING_SECRET (HTTP mode; set SLACK_APP_TOKEN for Socket Mode instead)")
        if mode == "socket" and self.app_token is None:
            missing.append("SLACK_APP_TOKEN")
        if missing:
            raise SettingsError("missing setting(s): " + ", ".join(missing))


def _api_url_problem(url: str) -> str | None:
    """What is wrong with a Web API base URL, in words that quote none of it."""
    if any(c.isspace() or ord(c) < 32 for c in url):
        return "must not contain white space or control characters"
    if not url.lower().startswith(("http://", "https://")):
        return "must start with http:// or https://"
    parts = urlsplit(url)
    if "@" in parts.netloc:
        # The Slack client would take them for part of the host name: they could never work.
        return "must not contain a user name or password"
    if "?" in url or "#" in url:
        return "must not have a query string or fragment (method names are appended to it)"
    if not parts.hostname:
        return "has no host name"
    try:
        parts.port  # noqa: B018 (parsing the port is the check)
    except ValueError:
        return "has an invalid port"
    return None


def _api_url(url: str) -> str:
    """SLACK_API_URL, checked; an error says what is wrong and never echoes the value.

    A proxy's URL may carry a password or a token, and a secret pasted into the
    wrong variable would otherwise be printed back.
    """
    problem = _api_url_problem(url)
    if problem:
        raise SettingsError(f"SLACK_API_URL {problem} {NOT_SHOWN}")
    return url if url.endswith("/") else url + "/"


def _host(host: str) -> str | None:
    if host and (any(c.isspace() or ord(c) < 32 for c in host) or "/" in host or len(host) > 253):
        raise SettingsError("LABELBOT_HOST is not an interface name or address, e.g. 0.0.0.0 or ::")
    return host or None


def _port(env: Mapping[str, str], name: str) -> int | None:
    value = env.get(name, "").strip()
    if not value:
        return None
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= 65535:
        raise SettingsError(f"{name} must be a port number from 1 to 65535")
    return int(value)


def _log_format(value: str) -> Literal["text", "json"]:
    if value == "text":
        return "text"
    if value == "json":
        return "json"
    raise SettingsError("LABELBOT_LOG_FORMAT must be text or json")


def _database_url(url: str) -> str:
    """DATABASE_URL, checked to parse: later messages show it through ``storage.db.redact_url``,
    which needs a URL it can parse to hide the password. Kept as written, so that messages show the
    user's own URL: ``postgres://`` (as hosting platforms write it) and ``postgresql://`` mean
    ``postgresql+psycopg://`` where an engine is made (``storage.db.normalize_url``)."""
    try:
        make_url(url)
    except (ArgumentError, ValueError):
        raise SettingsError(
            "DATABASE_URL is not a database URL; write it like postgresql://user@host/db or "
            f"sqlite:///labelbot.db {NOT_SHOWN}"
        ) from None
    return url
