"""Scenario fixtures: the real bot against the Slack emulator, in this process or as a subprocess.

``bot`` serves in this process: the same start-up as ``labelbot serve`` (``bot.serve``: token
check, runtime, Bolt app, dispatcher thread, scheduled jobs) behind a real uvicorn server on a
free port, with the emulator delivering signed requests to it over HTTP; ``bot.cli(...)`` runs
the ``labelbot`` command in this process too. ``process_bot`` and ``socket_bot`` run
``labelbot serve`` as a subprocess, exactly as a user starts it, for what only a process shows
(restarts, several processes, ``--workers``, Socket Mode, the log file, training processes).
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
import yaml
from typer.testing import CliRunner

from bot.slack.emulator import SlackEmulator
from tests.app_manifest import BOT_EVENTS, BOT_SCOPES, MESSAGE_SHORTCUTS

# The command as installed beside this interpreter. Absolute: scenarios run in temporary folders,
# and the interpreter's own path may be relative (``PATH=.venv/bin:$PATH``).
LABELBOT = str(Path(os.path.abspath(sys.executable)).with_name("labelbot"))
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
    """A labelbot serving against the emulator, and the CLI with the same environment."""

    def __init__(self, workdir: Path, env: dict[str, str], slack: SlackEmulator, socket_mode: bool) -> None:
        self.workdir, self.env, self.slack, self.socket_mode = workdir, env, slack, socket_mode
        self.port = free_port()
        self.log_path = workdir / "bot.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def configure(self, **project_overrides: Any) -> None:
        (self.workdir / "labelbot.yml").write_text(
            yaml.safe_dump({"projects": [project_config(**project_overrides)]}, sort_keys=False)
        )

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        raise NotImplementedError

    def import_items(self, rows: list[dict[str, Any]], *extra: str) -> str:
        import pandas as pd

        path = self.workdir / f"items-{time.monotonic_ns()}.csv"
        pd.DataFrame(rows).to_csv(path, index=False)
        return self.cli("import", "support", str(path), *extra).stdout

    def start(self, *serve_args: str, background: bool = True) -> Bot:
        raise NotImplementedError

    def stop(self, kill: bool = False) -> None:
        raise NotImplementedError

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def _wait_healthy(self, alive: Any) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if not alive():
                raise AssertionError(f"labelbot serve stopped:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        else:
            raise AssertionError(f"labelbot serve did not become healthy:\n{self.log()}")
        if self.socket_mode:
            self.slack.deliver_to_http(None)
            self.slack.wait_for_socket(timeout=30)
        else:
            self.slack.deliver_to_http(f"{self.url}/slack/events")

    @staticmethod
    def _checked(args: tuple[str, ...], result: subprocess.CompletedProcess[str], check: bool) -> Any:
        if check and result.returncode != 0:
            raise AssertionError(f"labelbot {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result


class InProcessBot(Bot):
    """``labelbot serve`` (HTTP) and the CLI in this process: the same start-up code, without the
    cost of a Python process per start and per command."""

    def __init__(self, *args: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        super().__init__(*args)
        self._monkeypatch = monkeypatch
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._served: Any = None
        self._log_handler: logging.Handler | None = None

    def _use_environment(self) -> None:
        # Training processes the server starts, and code that reads the environment, see the bot's.
        for name, value in self.env.items():
            self._monkeypatch.setenv(name, value)

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        from bot.cli import app

        self._use_environment()
        result = CliRunner().invoke(app, list(args), env=self.env, catch_exceptions=True)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        done = subprocess.CompletedProcess(
            ["labelbot", *args], result.exit_code, result.stdout, result.stderr
        )
        return self._checked(args, done, check)

    def start(self, *serve_args: str, background: bool = True) -> Bot:
        """Serve; ``background=False`` leaves out the dispatcher and the scheduled jobs (the database
        then changes only by what the requests do)."""
        from bot import serve
        from bot.settings import Settings

        if serve_args or self.socket_mode:
            raise AssertionError("serve options and Socket Mode need a process: use the process_bot fixture")
        self._use_environment()
        self._capture_log()
        settings = Settings.from_env(self.env)
        settings.require_slack()
        config, engine = serve.load(settings)
        served = serve.build(settings, config, engine)
        if background:
            served.start_background()
        self._served = served
        self._server = uvicorn.Server(
            uvicorn.Config(
                served.http(serve.default_threads(served.sqlite)), port=self.port, log_level="warning"
            )
        )
        self._thread = threading.Thread(target=self._server.run, name="labelbot-serve", daemon=True)
        self._thread.start()
        self._wait_healthy(lambda: self._thread is not None and self._thread.is_alive())
        return self

    def stop(self, kill: bool = False) -> None:
        if kill:
            raise AssertionError("killing needs a process: use the process_bot fixture")
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(20)
        if self._served is not None:
            self._served.stop_background()
            self._served.engine.dispose()
        self._server = self._thread = self._served = None
        if self._log_handler is not None:
            logging.getLogger().removeHandler(self._log_handler)
            self._log_handler.close()
            self._log_handler = None

    def _capture_log(self) -> None:
        """What ``--log-level info`` would print, into ``bot.log`` (as for a subprocess)."""
        handler = logging.FileHandler(self.log_path)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.setLevel(logging.INFO)
        root = logging.getLogger()
        root.addHandler(handler)
        if root.level > logging.INFO:
            self._monkeypatch.setattr(root, "level", logging.INFO)
        self._log_handler = handler


class ProcessBot(Bot):
    """A running ``labelbot serve`` subprocess, and the CLI as subprocesses."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.proc: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [LABELBOT, *args], env=self.env, capture_output=True, text=True, cwd=self.workdir, timeout=120
        )
        return self._checked(args, result, check)

    def start(self, *serve_args: str, background: bool = True) -> Bot:
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
        self._wait_healthy(lambda: self.proc is not None and self.proc.poll() is None)
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


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    emu = SlackEmulator(bot_scopes=BOT_SCOPES)  # what manifest.yml asks for, nothing more
    emu.event_subscriptions = set(BOT_EVENTS)  # and only the events it subscribes to
    emu.message_shortcuts = set(MESSAGE_SHORTCUTS)  # and the message shortcuts it declares
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


def bot_env(tmp_path: Path, database_url: str, slack: SlackEmulator) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    env.update(
        {
            "SLACK_BOT_TOKEN": slack.bot_token,
            "SLACK_SIGNING_SECRET": slack.signing_secret,
            "SLACK_API_URL": slack.api_url,
            "DATABASE_URL": database_url,
            "LABELBOT_CONFIG": str(tmp_path / "labelbot.yml"),
            "LABELBOT_MODELS_DIR": str(tmp_path / "models"),
        }
    )
    return env


def _running(bot: Bot) -> Iterator[Bot]:
    bot.configure()
    yield bot
    bot.stop()
    if os.environ.get("LABELBOT_TEST_SHOW_LOGS"):
        print(bot.log())


@pytest.fixture
def bot(
    tmp_path: Path, database_url: str, slack: SlackEmulator, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Bot]:
    """HTTP mode in this process (not started: configure and import first, then ``bot.start()``)."""
    env = bot_env(tmp_path, database_url, slack)
    yield from _running(InProcessBot(tmp_path, env, slack, False, monkeypatch=monkeypatch))


@pytest.fixture
def process_bot(tmp_path: Path, database_url: str, slack: SlackEmulator) -> Iterator[Bot]:
    """``labelbot serve`` in HTTP mode as a subprocess (not started)."""
    yield from _running(ProcessBot(tmp_path, bot_env(tmp_path, database_url, slack), slack, False))


@pytest.fixture(params=["in_process", "process"])
def any_bot(request: pytest.FixtureRequest) -> Bot:
    """The core loop both ways: served in this process, and by ``labelbot serve`` as a user runs it."""
    bot: Bot = request.getfixturevalue("bot" if request.param == "in_process" else "process_bot")
    return bot


@pytest.fixture
def socket_bot(tmp_path: Path, database_url: str, slack: SlackEmulator) -> Iterator[Bot]:
    """``labelbot serve`` in Socket Mode as a subprocess (not started)."""
    yield from _running(ProcessBot(tmp_path, bot_env(tmp_path, database_url, slack), slack, True))


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
