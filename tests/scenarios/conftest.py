"""Scenario fixtures: the real ``labelbot serve`` process against the Slack emulator.

The bot runs as a subprocess exactly as a user starts it (HTTP mode on a free
port, or Socket Mode when the test asks), with ``SLACK_API_URL`` pointing at the
emulator; the emulator delivers signed requests or Socket Mode envelopes to it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from bot.slack.emulator import SlackEmulator

LABELBOT = str(Path(sys.executable).with_name("labelbot"))
CHANNEL = "C0LABELS"
ANNOTATORS = ["U0ANN1", "U0ANN2", "U0ANN3", "U0ANN4"]
OUTSIDER = "U0OUTSIDE"
EXPERTS = {
    "default": ["U0EXPERT"],
    "fin": "U0FIN",
    "de": "U0DE",
    "admin": "U0ADMIN",
    "group_member": "U0GRPMEM",
}
LABELS = [
    {"value": "billing", "text": "Billing", "description": "Payments, invoices, refunds"},
    {"value": "bug", "text": "Bug", "description": "Something is broken"},
    {"value": "other", "text": "Other", "description": "Anything else"},
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def project_config(**overrides: Any) -> dict[str, Any]:
    project = {
        "key": "support",
        "name": "Support tickets",
        "channel": CHANNEL,
        "labels": LABELS,
        "annotators": [*ANNOTATORS[:3], "S0ANNGRP"],
        "experts": {
            "default": ["U0EXPERT", "S0EXPERTS"],
            "by_label": {"billing": ["U0FIN"]},
            "by_field": {"language": {"de": ["U0DE"]}},
            "admins": ["U0ADMIN"],
        },
        "guidelines": "# Support tickets\n\nLabel what the customer **needs**.",
        "fields": ["language"],
        "max_open": 10,
    }
    project.update(overrides)
    return project


class Bot:
    """A running ``labelbot serve`` and the CLI with the same environment."""

    def __init__(self, workdir: Path, env: dict[str, str], slack: SlackEmulator, socket_mode: bool) -> None:
        self.workdir, self.env, self.slack, self.socket_mode = workdir, env, slack, socket_mode
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / "bot.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def configure(self, **project_overrides: Any) -> None:
        (self.workdir / "labelbot.yml").write_text(
            yaml.safe_dump({"projects": [project_config(**project_overrides)]}, sort_keys=False)
        )

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [LABELBOT, *args], env=self.env, capture_output=True, text=True, cwd=self.workdir, timeout=120
        )
        if check and result.returncode != 0:
            raise AssertionError(f"labelbot {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def import_items(self, rows: list[dict[str, Any]], *extra: str) -> str:
        import pandas as pd

        path = self.workdir / f"items-{time.monotonic_ns()}.csv"
        pd.DataFrame(rows).to_csv(path, index=False)
        return self.cli("import", "support", str(path), *extra).stdout

    def start(self, *serve_args: str) -> Bot:
        env = dict(self.env)
        if self.socket_mode:
            env["SLACK_APP_TOKEN"] = self.slack.app_token
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [LABELBOT, "serve", "--port", str(self.port), "--log-level", "info", *serve_args],
            env=env,
            cwd=self.workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"labelbot serve exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        else:
            raise AssertionError(f"labelbot serve did not become healthy:\n{self.log()}")
        if self.socket_mode:
            self.slack.deliver_to_http(None)
            self.slack.wait_for_socket(timeout=30)
        else:
            self.slack.deliver_to_http(f"{self.url}/slack/events")
        return self

    def stop(self, kill: bool = False) -> None:
        if self.proc and self.proc.poll() is None:
            if kill:
                self.proc.kill()
            else:
                self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    emu = SlackEmulator()
    emu.start()
    for user in [*ANNOTATORS, OUTSIDER, "U0EXPERT", "U0FIN", "U0DE", "U0ADMIN", "U0GRPMEM", "U0GRPANN"]:
        emu.add_user(user, user.lower())
    emu.add_channel(
        CHANNEL,
        "labeling",
        members=[
            *ANNOTATORS,
            OUTSIDER,
            "U0EXPERT",
            "U0FIN",
            "U0DE",
            "U0ADMIN",
            "U0GRPMEM",
            "U0GRPANN",
            "UBOT",
        ],
    )
    emu.add_usergroup("S0EXPERTS", "experts", ["U0GRPMEM"])
    emu.add_usergroup("S0ANNGRP", "annotators", ["U0GRPANN"])
    yield emu
    emu.stop()


def _bot(tmp_path: Path, database_url: str, slack: SlackEmulator, socket_mode: bool) -> Iterator[Bot]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    env.update(
        {
            "SLACK_BOT_TOKEN": slack.bot_token,
            "SLACK_SIGNING_SECRET": slack.signing_secret,
            "SLACK_API_URL": slack.api_url,
            "DATABASE_URL": database_url,
            "LABELBOT_CONFIG": str(tmp_path / "labelbot.yml"),
        }
    )
    bot = Bot(tmp_path, env, slack, socket_mode)
    bot.configure()
    yield bot
    bot.stop()
    if os.environ.get("LABELBOT_TEST_SHOW_LOGS"):
        print(bot.log())


@pytest.fixture
def bot(tmp_path: Path, database_url: str, slack: SlackEmulator) -> Iterator[Bot]:
    """HTTP mode (not started: configure and import first, then ``bot.start()``)."""
    yield from _bot(tmp_path, database_url, slack, socket_mode=False)


@pytest.fixture
def socket_bot(tmp_path: Path, database_url: str, slack: SlackEmulator) -> Iterator[Bot]:
    yield from _bot(tmp_path, database_url, slack, socket_mode=True)


def item_messages(slack: SlackEmulator, channel: str = CHANNEL) -> list[dict[str, Any]]:
    """Top-level messages the bot posted for items, in order."""
    return [
        m for m in slack.messages(channel) if (m.get("metadata") or {}).get("event_type") == "labelbot_item"
    ]


def wait_items(slack: SlackEmulator, n: int, timeout: float = 30) -> list[dict[str, Any]]:
    slack.wait_for(lambda: len(item_messages(slack)) >= n, timeout=timeout)
    return item_messages(slack)


def message_text(message: dict[str, Any]) -> str:
    import json

    return json.dumps(message.get("blocks") or [], ensure_ascii=False) + str(message.get("text", ""))
