"""Starting and stopping a sandbox: the emulator, the real bot against it, the sample project, the
simulated annotators and the page, in one process, on a throwaway SQLite database."""

from __future__ import annotations

import logging
import shutil
import socket
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
import yaml
from sqlalchemy import Engine, select

from bot import serve
from bot.importer import InputFileError, detect_format, read_item_rows, read_table, upsert_items
from bot.items import get_project
from bot.sandbox.annotators import SimulatedAnnotators
from bot.sandbox.workspace import CHANNEL, SAMPLE_DATA, USERS, known_answers, project_config
from bot.settings import Settings
from bot.slack import ids
from bot.slack.emulator import SlackEmulator
from bot.starter import Starter, propose
from storage import db
from storage.models import Item

__all__ = ["Options", "Sandbox", "SandboxError", "setup_logging", "wait_for_stop"]

log = logging.getLogger("labelbot.sandbox")


class SandboxError(Exception):
    """The sandbox cannot start; the message says why (a data file it cannot use)."""


@dataclass(frozen=True)
class Options:
    port: int = 8800
    data: Path | None = None
    accuracy: float = 0.8
    delay: float = 3.0  # seconds before the first simulated annotator answers an item
    seed: int | None = None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _refuse_taken(port: int) -> None:
    """Before starting anything: the page's port must be free."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            raise SandboxError(f"port {port} is in use on 127.0.0.1: choose another with --port") from None


class Server:
    """A uvicorn server on a thread (uvicorn leaves signals alone off the main thread: Ctrl-C is ours)."""

    def __init__(self, app: Any, port: int, name: str) -> None:
        self.port = port
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, name=name, daemon=True)

    def start(self, timeout: float = 30) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise SandboxError(f"could not serve on 127.0.0.1:{self.port} (is the port in use?)")
            time.sleep(0.02)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(20)


class Sandbox:
    """One sandbox: ``start()``, then ``url`` is the page; ``stop()`` removes everything."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.workdir = Path(tempfile.mkdtemp(prefix="labelbot-sandbox-"))
        self.slack = SlackEmulator()
        self.project_key = ""
        self.bot: serve.Bot | None = None
        self.annotators: SimulatedAnnotators | None = None
        self._servers: list[Server] = []
        self._started = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.options.port}/"

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.workdir / 'sandbox.db'}"

    def start(self) -> Sandbox:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        from bot.sandbox.web import page_app

        _refuse_taken(self.options.port)
        data = self.options.data or SAMPLE_DATA
        starter, answers = self._read(data)
        self.project_key = starter.key
        config_path = self.workdir / "labelbot.yml"
        config_path.write_text(yaml.safe_dump({"projects": [project_config(starter)]}, sort_keys=False))
        self._start_slack()
        settings = Settings.from_env(
            {
                "SLACK_BOT_TOKEN": self.slack.bot_token,
                "SLACK_SIGNING_SECRET": self.slack.signing_secret,
                "SLACK_API_URL": self.slack.api_url,
                "DATABASE_URL": self.database_url,
                "LABELBOT_CONFIG": str(config_path),
            }
        )
        config, engine = serve.load(settings)
        answers = self._import(engine, data, starter, answers)
        self.bot = bot = serve.build(settings, config, engine)
        bot_server = Server(bot.http(serve.default_threads(bot.sqlite)), free_port(), "sandbox-bot")
        self._servers.append(bot_server)
        bot_server.start()
        self.slack.deliver_to_http(f"http://127.0.0.1:{bot_server.port}/slack/events")
        bot.start_background()
        simulated = [u.id for u in USERS if u.simulated]
        self.annotators = SimulatedAnnotators(
            self.slack,
            CHANNEL,
            simulated,
            answers,
            accuracy=self.options.accuracy,
            delay=self.options.delay,
            seed=self.options.seed,
        )
        self.annotators.start()
        page = Server(page_app(self), self.options.port, "sandbox-page")
        self._servers.append(page)
        page.start()
        httpx.get(self.url, timeout=5).raise_for_status()
        self._started = True

    def _read(self, data: Path) -> tuple[Starter, dict[str, str]]:
        try:
            starter = propose(data)
            records, _, _ = read_table(data, detect_format(data))
        except InputFileError as exc:
            raise SandboxError(str(exc)) from None
        return starter, known_answers(records, starter)

    def _start_slack(self) -> None:
        slack = self.slack
        slack.start()
        for user in USERS:
            slack.add_user(user.id, user.name, real_name=user.real_name, is_admin=user.role == "admin")
        slack.add_channel(CHANNEL, "labeling", members=[*(u.id for u in USERS), slack.ctx.bot_user_id])
        # The app's message shortcut, as its manifest declares it (manifest.yml: features.shortcuts).
        slack.message_shortcuts = {ids.SEND_TO_LABELING}

    def _import(
        self, engine: Engine, data: Path, starter: Starter, answers: dict[str, str]
    ) -> dict[str, str]:
        """The items, read as ``labelbot import`` reads them (rows it would refuse are left out);
        returns the known answers by the items' ids in the database (as item messages name them)."""
        try:
            rows, bad = read_item_rows(
                data, id_field=starter.id_field, text_field=starter.text_field, labels=[]
            )
        except InputFileError as exc:
            raise SandboxError(str(exc)) from None
        if not rows:
            raise SandboxError(f"{data.name}: no item to label ({len(bad)} row(s) refused)")
        if bad:
            log.warning("%s: %d row(s) refused, left out", data.name, len(bad))
        with db.session_scope(db.make_session_factory(engine)) as session:
            project = get_project(session, starter.key)
            upsert_items(session, project, rows)
            ids = session.execute(select(Item.id, Item.external_id).where(Item.project_id == project.id))
            return {str(id_): answers[ext] for id_, ext in ids if ext in answers}

    def digest(self) -> str:
        """Post a quality digest now: what ``labelbot digest PROJECT`` does."""
        if self.bot is None:
            raise SandboxError("the sandbox is not running")
        cfg = self.bot.config.project(self.project_key)
        poster = self.bot.runtime.digests
        start, end = poster.current_period(cfg)
        message, png, _ = poster.compose(cfg, start, end)
        return poster.post(cfg.digest.channel or cfg.channel, message, png)

    def stop(self) -> None:
        try:
            if self.annotators is not None:
                self.annotators.stop()
            for server in reversed(self._servers):
                server.stop()
            self._servers.clear()
            if self.bot is not None:
                self.bot.stop_background()
                self.bot.engine.dispose()
                self.bot = None
            self.slack.stop()
        finally:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def setup_logging() -> None:
    """Warnings and errors only: the sandbox's output is the page's address."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def wait_for_stop() -> None:
    """Until Ctrl-C or SIGTERM."""
    import signal

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
