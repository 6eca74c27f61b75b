"""Settings from the environment; secrets stay wrapped so they never reach a log."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from pydantic import SecretStr

from storage.db import DEFAULT_DATABASE_URL

__all__ = ["DEFAULT_SLACK_API_URL", "Settings", "SettingsError"]

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
TOKEN_SHAPES = {
    "SLACK_BOT_TOKEN": re.compile(r"^xoxb-[A-Za-z0-9-]+$"),
    "SLACK_APP_TOKEN": re.compile(r"^xapp-[A-Za-z0-9-]+$"),
}


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
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env

        def secret(name: str) -> SecretStr | None:
            value = env.get(name, "").strip()
            if not value:
                return None
            shape = TOKEN_SHAPES.get(name)
            if shape and not shape.match(value):
                prefix = "xoxb-" if name == "SLACK_BOT_TOKEN" else "xapp-"
                # Never echo the value: it may be a real secret pasted into the wrong variable.
                raise SettingsError(f"{name} is malformed: it must start with {prefix} (value not shown)")
            if any(c.isspace() for c in value):
                raise SettingsError(f"{name} is malformed: it contains white space (value not shown)")
            return SecretStr(value)

        api_url = env.get("SLACK_API_URL", "").strip() or DEFAULT_SLACK_API_URL
        if not re.match(r"^https?://", api_url):
            raise SettingsError(f"SLACK_API_URL must be an http(s) URL, got {api_url!r}")
        if not api_url.endswith("/"):
            api_url += "/"
        return cls(
            bot_token=secret("SLACK_BOT_TOKEN"),
            signing_secret=secret("SLACK_SIGNING_SECRET"),
            app_token=secret("SLACK_APP_TOKEN"),
            api_url=api_url,
            database_url=env.get("DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL,
            config_path=env.get("LABELBOT_CONFIG", "").strip() or "labelbot.yml",
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
