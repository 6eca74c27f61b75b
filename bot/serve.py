"""``labelbot serve``: start-up of a serving process, its background work, and its transport.

A serving process answers Slack (HTTP at ``/slack/events``, or Socket Mode), and the main one
also runs the background work: the dispatcher thread (posting and refreshing messages), the
scheduled jobs (reminders, digests, retraining checks) and the training processes. With
``--workers N`` (HTTP, PostgreSQL) N more processes answer Slack and the main one only does the
background work. ``--role web`` answers Slack without the background work, ``--role worker``
does only the background work (and serves ``/healthz``, ``/readyz`` and ``/metrics``), with no
Socket Mode connection. Any number of each may share one PostgreSQL database: the background
work is divided by locks and claims in it (``docs/architecture.md``).
``docs/architecture.md`` draws the processes, threads and loops.
"""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from slack_bolt import App
from sqlalchemy import Engine, text
from starlette.applications import Starlette

from bot.authorization import Authorizer
from bot.config import Config, load_config
from bot.exits import ExitCode
from bot.governance import require_governance
from bot.model.launcher import TrainingLauncher
from bot.scheduler import Job, start_scheduler
from bot.settings import Settings
from bot.slack.app import build_app, make_client
from bot.slack.checks import check_token
from bot.slack.directory import Directory
from bot.slack.dispatcher import Dispatcher
from bot.slack.home import HomeRefresher, render_home
from bot.slack.listeners.labels import is_click
from bot.slack.metrics import METRICS
from bot.slack.posting.digests import DigestPoster
from bot.slack.posting.poster import SlackPoster
from bot.slack.posting.reminders import ReminderPoster
from bot.slack.runtime import Runtime
from bot.slack.transport import Check, http_app
from storage import db

__all__ = ["ROLES", "Bot", "ServeError", "build", "http_worker", "run"]

log = logging.getLogger("labelbot")
WORKER_LOG_LEVEL = "LABELBOT_WORKER_LOG_LEVEL"
WORKER_THREADS = "LABELBOT_WORKER_THREADS"
WORKER_LOG_FORMAT = "LABELBOT_WORKER_LOG_FORMAT"
ROLES = ("all", "web", "worker")


class ServeError(Exception):
    """The process cannot serve; the message says why and what to do (never a secret)."""

    def __init__(self, message: str, code: ExitCode = ExitCode.BAD_INPUT) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Bot:
    """A serving process's parts: the runtime and Bolt app, and the background work it may run."""

    settings: Settings
    config: Config
    engine: Engine
    runtime: Runtime
    app: App
    dispatcher: Dispatcher | None = None
    _stops: list[Callable[[], None]] = field(default_factory=list)

    @property
    def sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def start_background(self) -> None:
        """The dispatcher thread, the scheduled jobs and the training launcher (one process only)."""
        rt = self.runtime
        dispatcher = Dispatcher(rt.factory, make_client(self.settings, retries=False), self.config)
        dispatcher.start()
        rt.dispatcher = self.dispatcher = dispatcher
        # A posted escalation thread shows on its experts' and admins' App Home.
        dispatcher.threads.posted = lambda project, routed: rt.homes_changed(*routed, *project.experts.admins)
        reminders = ReminderPoster(dispatcher.poster, rt.factory, self.config, dispatcher.project_ids)
        # Scheduled digests go to a channel only from the host holding its lock (the dispatcher's).
        rt.digests.poster.owns = dispatcher.poster.owns
        launcher = TrainingLauncher(
            rt.factory, list(self.config.projects), dispatcher.project_ids, on_exit=_trained
        )
        scheduler = start_scheduler(
            [
                Job("reminders", reminders.send_due, catch_up=True),
                Job("digests", rt.digests.post_due, catch_up=True),
                # Training runs in its own process (bot.model.launcher): this job only starts it.
                Job("models", launcher.check),
            ]
        )
        self._stops += [lambda: scheduler.shutdown(wait=False), launcher.stop, dispatcher.stop]

    def stop_background(self) -> None:
        while self._stops:
            self._stops.pop(0)()

    def health(self, socket: Callable[[], bool] | None = None, role: str = "all") -> Check:
        return health(self.settings.mode, role, socket)

    def readiness(self, socket: Callable[[], bool] | None = None) -> Check:
        return readiness(self.engine, socket)

    def http(self, threads: int, role: str = "all") -> Starlette:
        """The ASGI app: ``POST /slack/events``, ``GET /healthz``, ``/readyz`` and ``/metrics``.

        Label, Undo and Skip clicks commit in groups (see ``bot.group_commit``): on SQLite on the
        event loop (a click is a short write under one lock, and skipping two thread hand-overs was
        worth ~10% clicks/s), on PostgreSQL in the runtime's group threads. Only when no Slack call
        can come first: a stale user-group cache means ``usergroups.users.list``, which goes to a
        listener thread.
        """
        rt = self.runtime
        groups = [g for p in self.config.projects for g in p.annotators]

        def quick_click(body: dict[str, Any]) -> bool:
            return is_click(body) and rt.authorizer.answers_from_cache(groups)

        secret = self.settings.signing_secret
        return http_app(
            self.app,
            self.health(role=role),
            ready=self.readiness(),
            signing_secret=secret.get_secret_value() if secret else None,
            threads=threads,
            inline=quick_click,
            responder=rt.responder,
            group=rt.commits,
        )


def load(settings: Settings) -> tuple[Config, Engine]:
    """The configuration and the database (created when new, refused when outdated)."""
    config = load_config(settings.config_path)
    require_governance(config)  # a ConfigError: the actions no one may take, named per project
    try:
        engine = db.make_engine(settings.database_url)
        db.ensure_schema(engine)
    except db.SchemaError as exc:
        raise ServeError(str(exc)) from None
    except Exception as exc:
        url = db.redact_url(settings.database_url)
        raise ServeError(
            f"cannot open the database at {url}: {db.describe_error(exc)}", ExitCode.UNREACHABLE
        ) from None
    return config, engine


def build(settings: Settings, config: Config, engine: Engine) -> Bot:
    """The runtime and Bolt app of a serving process, after checking the token with Slack."""
    client = make_client(settings)
    token = check_token(client)  # one line that names the API error or the network's, never the token
    if token.problem is not None:
        raise ServeError(token.problem + (f"; {token.fix}" if token.fix else ""), token.code)
    factory = db.make_session_factory(engine)
    directory = Directory(client)
    rt = Runtime(config, factory, client, Authorizer(directory))
    with rt.read() as session:
        rt.projects.prime(session)
    rt.digests = DigestPoster(SlackPoster(client), factory, config)
    METRICS.watch_queue(lambda: _queue_depths(rt))
    METRICS.watch_leases(lambda: _live_leases(rt))
    # Every serving process publishes the App Homes its own requests changed (bot.slack.home).
    rt.homes = HomeRefresher(
        make_client(settings, retries=False),
        lambda user, page: render_home(rt, user, page),
        members=directory.members,
    ).start()
    bot = Bot(settings, config, engine, rt, build_app(rt, settings))
    bot._stops.append(rt.homes.stop)
    return bot


def _queue_depths(rt: Runtime) -> dict[str, int]:
    from bot.progress import queued_by_project

    with rt.read() as session:
        return queued_by_project(session)


def _live_leases(rt: Runtime) -> dict[str, int]:
    from bot.progress import live_leases_by_project
    from storage.models import utcnow

    with rt.read() as session:
        return live_leases_by_project(session, utcnow())


def _trained(project: str, seconds: float, returncode: int) -> None:
    METRICS.training_seconds.labels("ok" if returncode == 0 else "failed").observe(seconds)


@dataclass(frozen=True)
class Options:
    host: str = "127.0.0.1"
    port: int = 3000
    workers: int = 1
    threads: int | None = None  # per process running listeners; default by database
    log_level: str = "info"
    role: str = "all"  # all: answer Slack and do the background work; web: answer only; worker: work only
    log_format: str = "text"


def run(settings: Settings, config: Config, engine: Engine, options: Options) -> None:
    """What ``labelbot serve`` does, until SIGINT or SIGTERM."""
    import uvicorn

    from bot.slack.socket_guard import SocketGuard, database_answers
    from bot.slack.socket_mode import SocketModeHandler

    if options.workers > 1 and settings.mode == "socket":
        raise ServeError(
            "--workers is for HTTP mode; Socket Mode runs one connection (unset SLACK_APP_TOKEN)"
        )
    if options.workers > 1 and options.role == "worker":
        raise ServeError("--workers is for processes that answer Slack (--role web or all), not workers")
    if options.workers > 1 and engine.dialect.name == "sqlite":
        raise ServeError(
            "--workers needs PostgreSQL: SQLite lets one process write at a time, so more processes "
            "would only queue for its lock. Set DATABASE_URL to a PostgreSQL database, or serve "
            "with one worker."
        )
    served = build(settings, config, engine)
    threads = options.threads or default_threads(served.sqlite)
    if options.role != "web":
        served.start_background()
    host, port = options.host, options.port
    try:
        if options.role == "worker":
            # Posting, scheduled jobs and training; Slack's requests go to the web processes.
            log.info("labelbot worker running; health at http://%s:%s/healthz", host, port)
            worker_app = http_app(
                None,
                served.health(role="worker"),
                ready=served.readiness(),
                responder=served.runtime.responder,
            )
            freeze_startup_heap()
            uvicorn.Server(uvicorn.Config(worker_app, host=host, port=port, log_level="warning")).run()
        elif options.workers > 1:
            # This process posts, schedules and trains; the workers (fresh processes that load the
            # same environment) answer Slack's requests. A worker's click wakes no dispatcher:
            # this one looks for work every second anyway.
            log.info(
                "labelbot serving HTTP on http://%s:%s/slack/events with %d workers",
                host,
                port,
                options.workers,
            )
            os.environ[WORKER_LOG_LEVEL] = options.log_level
            os.environ[WORKER_THREADS] = str(threads)
            os.environ[WORKER_LOG_FORMAT] = options.log_format
            uvicorn.run(
                "bot.serve:http_worker",
                factory=True,
                host=host,
                port=port,
                workers=options.workers,
                log_level="warning",
                timeout_graceful_shutdown=5,
            )
        elif settings.mode == "socket":
            app_token = settings.app_token.get_secret_value() if settings.app_token else ""
            handler = SocketModeHandler(served.app, app_token)
            handler.connect()
            # Without its database this host closes its connection: Slack sends to the other hosts.
            guard = SocketGuard(handler.client, database_answers(engine)).start()
            log.info("labelbot connected in Socket Mode; health at http://%s:%s/healthz", host, port)
            # The health server's loop also sends the answers (as in HTTP mode): no thread of its own.
            connected = handler.client.is_connected
            health_app = http_app(
                None,
                # Closed on purpose is alive: a restart would not bring the database back.
                served.health(lambda: connected() or guard.closed, options.role),
                ready=served.readiness(connected),
                responder=served.runtime.responder,
            )
            freeze_startup_heap()
            uvicorn.Server(uvicorn.Config(health_app, host=host, port=port, log_level="warning")).run()
            guard.stop()
            handler.close()
        else:
            log.info("labelbot serving HTTP on http://%s:%s/slack/events", host, port)
            freeze_startup_heap()
            uvicorn.run(
                served.http(threads, options.role),
                host=host,
                port=port,
                log_level="warning",
                timeout_graceful_shutdown=5,
            )
    finally:
        served.stop_background()


def default_threads(sqlite: bool) -> int:
    """Threads per process running listeners. SQLite writes one transaction at a time, so more
    threads only trade the GIL; PostgreSQL transactions wait on the network, and a few more
    threads keep the process busy meanwhile."""
    return 2 if sqlite else 4


def http_worker() -> Starlette:
    """One process of ``serve --workers N`` (uvicorn imports this): the Slack endpoint only."""
    setup_logging(os.environ.get(WORKER_LOG_LEVEL, "info"), os.environ.get(WORKER_LOG_FORMAT, "text"))
    settings = Settings.from_env()
    served = build(settings, *load(settings))
    app = served.http(int(os.environ.get(WORKER_THREADS, "4")), "web")
    freeze_startup_heap()
    return app


def health(mode: str, role: str = "all", socket: Callable[[], bool] | None = None) -> Check:
    """``/healthz``: the process is alive (it answers), and in Socket Mode its websocket is up
    (slack_sdk reconnects by itself; a process whose websocket stays down serves no one). The
    database is not asked: an outage of it should not get every process restarted (``/readyz``)."""

    def check() -> dict[str, object]:
        status: dict[str, object] = {"ok": True, "mode": mode, "role": role}
        if socket is not None:
            up = socket()
            status.update(ok=up, socket="connected" if up else "disconnected")
        return status

    return check


def readiness(engine: Engine, socket: Callable[[], bool] | None = None) -> Check:
    """``/readyz``: able to serve: the database answers, its schema is this code's, and in Socket
    Mode the websocket is connected. 503 names what is not ready (never a URL or a secret)."""
    head = db.head_revision()

    def check() -> dict[str, object]:
        problems: dict[str, str] = {}
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            current = db.current_revision(engine)
            if current != head:
                problems["schema"] = f"at {current}, this labelbot needs {head}: run labelbot db upgrade"
        except Exception as exc:
            problems["database"] = f"unreachable ({type(exc).__name__})"
        if socket is not None and not socket():
            problems["socket"] = "the Socket Mode websocket is not connected"
        return {"ok": not problems, "not_ready": problems} if problems else {"ok": True}

    return check


def setup_logging(level: str, log_format: str = "text") -> None:
    from bot.logs import JsonFormatter

    if log_format == "json":
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        logging.basicConfig(level=level.upper(), handlers=[handler])
    else:
        logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def freeze_startup_heap() -> None:
    """Keep what start-up built (modules, configuration, caches: ~270,000 objects) out of the
    garbage collector's full collections. Each one otherwise walked them all, on the event loop
    that acknowledges clicks: 80-170 ms pauses every few seconds at 32 clients, the largest part
    of the p99 (benchmarks/clicks.py)."""
    gc.collect()
    gc.freeze()
