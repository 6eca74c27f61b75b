"""The ``labelbot`` command: an edge that opens sessions and calls the domain."""

from __future__ import annotations

import gc
import logging
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Config, ConfigError, load_config
from bot.settings import Settings, SettingsError
from storage import db
from storage.models import Item, ItemEvent, ItemStatus, Label, Project

TRAINING_NICENESS = 19  # `model --train/--score`: the lowest priority; the server's acks go first

app = typer.Typer(add_completion=False, no_args_is_help=True, help="labelbot: data labeling in Slack.")
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
app.add_typer(db_app, name="db")
log = logging.getLogger("labelbot")


def fail(message: str, code: int = 2) -> typer.Exit:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code)


class Context:
    """Settings, configuration and database, loaded once per command with clear errors."""

    def __init__(self) -> None:
        try:
            self.settings = Settings.from_env()
            self.config: Config = load_config(self.settings.config_path)
        except (SettingsError, ConfigError) as exc:
            raise fail(str(exc)) from None
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            try:
                self._engine = db.make_engine(self.settings.database_url)
                db.ensure_schema(self._engine)
            except db.SchemaError as exc:
                raise fail(str(exc)) from None
            except Exception as exc:
                url = db.redact_url(self.settings.database_url)
                raise fail(f"cannot open the database at {url}: {type(exc).__name__}: {exc}") from None
        return self._engine

    @property
    def factory(self) -> sessionmaker[Session]:
        return db.make_session_factory(self.engine)

    def project(self, key: str):  # type: ignore[no-untyped-def]
        try:
            return self.config.project(key)
        except ConfigError as exc:
            raise fail(str(exc)) from None


def _setup_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")


# -- import / export ------------------------------------------------------------------------
@app.command("import")
def import_(
    project: str,
    file: Path,
    id_field: Annotated[str, typer.Option(help="column with the item id")] = "id",
    text_field: Annotated[str, typer.Option(help="column with the text to label")] = "text",
    gold_field: Annotated[str | None, typer.Option(help="column with a known (gold) label")] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="csv, jsonl or parquet")] = None,
    skip_invalid: Annotated[
        bool, typer.Option(help="import the good rows, write the bad ones to a file")
    ] = False,
    rejected: Annotated[Path | None, typer.Option(help="where --skip-invalid writes rejected rows")] = None,
    labels: Annotated[
        bool, typer.Option("--labels", help="import labels (item_id, user_id, label, created_at) instead")
    ] = False,
) -> None:
    """Import items (or labels, with --labels) from CSV, JSONL or Parquet; all rows land or none."""
    from bot.importer import InputFileError, format_rejections, read_item_rows, write_rejected
    from bot.items import get_project, upsert_items

    ctx = Context()
    cfg = ctx.project(project)
    with db.session_scope(ctx.factory) as session:
        proj = get_project(session, project)
        if labels:  # imported here: it needs the labeling rules, which load scikit-learn (~1.5 s)
            from bot.label_import import import_labels, known_item_ids, read_label_rows
        try:
            if labels:
                rows, bad = read_label_rows(file, cfg, set(known_item_ids(session, proj)), fmt)
            else:
                rows, bad = read_item_rows(
                    file,
                    id_field=id_field,
                    text_field=text_field,
                    gold_field=gold_field,
                    labels=cfg.label_values,
                    fmt=fmt,
                )
        except InputFileError as exc:
            raise fail(str(exc)) from None
        if bad and not skip_invalid:
            raise fail(
                f"{file.name}: {len(bad)} invalid row(s), nothing imported:\n{format_rejections(bad)}\n"
                "Fix them, or pass --skip-invalid to import the good rows."
            )
        if labels:
            done = import_labels(session, cfg, proj, rows)  # type: ignore[arg-type]
            summary = (
                f"{project}: {done.new} new label(s), {done.changed} changed, {done.unchanged} unchanged; "
                f"{done.resolved} item(s) resolved, {done.escalated} escalated"
            )
        else:
            report = upsert_items(session, proj, rows)  # type: ignore[arg-type]
            summary = f"{project}: {report.new} new, {report.unchanged} unchanged, {report.changed} changed"
    typer.echo(summary)
    if bad:
        target = rejected or file.with_name(f"{file.stem}.rejected{file.suffix}")
        write_rejected(bad, target)
        typer.echo(f"{len(bad)} row(s) rejected, written to {target}:\n{format_rejections(bad)}")


@app.command("export")
def export(
    project: str,
    output: Annotated[Path, typer.Option("-o", "--output", help="file to write (.csv, .jsonl, .parquet)")],
    fmt: Annotated[str | None, typer.Option("--format", help="csv, jsonl or parquet")] = None,
    labels: Annotated[bool, typer.Option("--labels", help="the label history instead of items")] = False,
    discussions: Annotated[bool, typer.Option("--discussions", help="escalation thread messages")] = False,
) -> None:
    """Export items (one row each), the label history, or thread discussions."""
    from bot.exporter import discussions_frame, items_frame, label_events_frame, write_frame
    from bot.importer import InputFileError
    from bot.items import get_project

    ctx = Context()
    ctx.project(project)
    with db.read_scope(ctx.factory) as session:
        proj = get_project(session, project)
        if labels:
            frame = label_events_frame(session, proj)
        elif discussions:
            frame = discussions_frame(session, proj)
        else:
            frame = items_frame(session, proj)
    try:
        write_frame(frame, output, fmt)
    except InputFileError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"wrote {len(frame)} row(s) to {output}")


# -- status, history, guidelines ------------------------------------------------------------------
def _table(headers: list[str], rows: list[list[object]]) -> str:
    cells = [[str(c) for c in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


@app.command()
def status(project: Annotated[str | None, typer.Argument()] = None) -> None:
    """Counts per status and per annotator."""
    ctx = Context()
    keys = [ctx.project(project).key] if project else [p.key for p in ctx.config.projects]
    with db.read_scope(ctx.factory) as session:
        for key in keys:
            pid = session.scalar(select(Project.id).where(Project.key == key))
            counts = (
                dict(
                    session.execute(
                        select(Item.status, func.count()).where(Item.project_id == pid).group_by(Item.status)
                    ).all()
                )
                if pid
                else {}
            )
            typer.echo(f"\n{key}: {sum(counts.values())} item(s)")
            typer.echo(_table(["status", "items"], [[s, counts.get(s, 0)] for s in ItemStatus.ALL]))
            per_user = (
                session.execute(
                    select(Label.user_id, func.count())
                    .join(Item, Item.id == Label.item_id)
                    .where(Item.project_id == pid)
                    .group_by(Label.user_id)
                    .order_by(func.count().desc())
                ).all()
                if pid
                else []
            )
            skips = (
                dict(
                    session.execute(
                        select(ItemEvent.actor, func.count())
                        .where(ItemEvent.project_id == pid, ItemEvent.action == "skip")
                        .group_by(ItemEvent.actor)
                    ).all()
                )
                if pid
                else {}
            )
            users = sorted({u for u, _ in per_user} | set(skips))
            labels_of = dict(per_user)
            if users:
                typer.echo("")
                typer.echo(
                    _table(
                        ["annotator", "current labels", "skips"],
                        [[u, labels_of.get(u, 0), skips.get(u, 0)] for u in users],
                    )
                )


@app.command()
def history(project: str, item_id: str) -> None:
    """Every event of one item, oldest first."""
    from bot.items import NotFound, get_item_by_external, get_project

    ctx = Context()
    ctx.project(project)
    with db.read_scope(ctx.factory) as session:
        try:
            item = get_item_by_external(session, get_project(session, project), item_id)
        except NotFound as exc:
            raise fail(str(exc)) from None
        events = session.scalars(select(ItemEvent).where(ItemEvent.item_id == item.id).order_by(ItemEvent.id))
        rows = [
            [
                e.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                e.round,
                e.actor,
                e.action,
                e.label or "",
                e.previous_label or "",
                _detail(e.detail),
            ]
            for e in events
        ]
        header = f"{project} / {item_id}: {item.status}" + (
            f", {item.final_label} ({item.resolution})" if item.final_label else ""
        )
    typer.echo(header)
    typer.echo(_table(["time (UTC)", "round", "actor", "action", "label", "previous", "detail"], rows))


def _detail(detail: dict[str, object] | None) -> str:
    if not detail:
        return ""
    return ", ".join(f"{k}={v}" for k, v in detail.items() if v not in (None, "", {}, []))[:120]


@app.command()
def guidelines(project: str) -> None:
    """The guidelines followed by the edge cases experts collected, as Markdown."""
    from bot.guidelines import edge_cases_markdown, recent_edge_cases

    ctx = Context()
    cfg = ctx.project(project)
    with db.read_scope(ctx.factory) as session:
        cases = recent_edge_cases(session, project, limit=None)
    typer.echo(edge_cases_markdown(cfg, cases), nl=False)


def _utc(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise fail(f"{option} {value!r} is not a date (YYYY-MM-DD) or date and time (ISO 8601)") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


@app.command()
def quality(
    project: str,
    since: Annotated[str | None, typer.Option(help="from this UTC date or time (inclusive)")] = None,
    until: Annotated[str | None, typer.Option(help="to this UTC date or time (exclusive)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of tables")] = False,
) -> None:
    """The quality report: agreement, gold accuracy, audits, escalations, confusions, Dawid-Skene."""
    import json

    from bot.items import get_project
    from bot.reports import Period, build_report

    ctx = Context()
    cfg = ctx.project(project)
    period = Period(_utc(since, "--since"), _utc(until, "--until"))
    with db.read_scope(ctx.factory) as session:
        report = build_report(session, cfg, get_project(session, project).id, period)
    if as_json:
        typer.echo(json.dumps(report, indent=2, ensure_ascii=False))
        return
    typer.echo(render_report(report))


def render_report(report: dict[str, Any]) -> str:
    """The report as readable tables (the JSON has everything)."""

    def fmt(value: object) -> str:
        if value is None:
            return "n/a"
        if isinstance(value, float):
            return f"{value:.3f}"
        if isinstance(value, list) and len(value) == 2:
            return f"[{fmt(value[0])}, {fmt(value[1])}]"
        return str(value)

    period = report["period"]
    lines = [f"{report['project']}: {period['since'] or 'beginning'} to {period['until'] or 'now'} (UTC)", ""]
    keys = [
        "labels",
        "items_resolved",
        "backlog",
        "annotators_count",
        "krippendorff_alpha",
        "fleiss_kappa",
        "mean_cohen_kappa",
        "escalation_rate",
        "median_hours_to_decision",
        "gold_accuracy",
        "audit_error_rate",
        "audit_error_ci",
        "model_version",
        "model_accuracy",
        "auto_accepted_share",
        "auto_accept_error_rate",
    ]
    notes = report.get("notes") or {}
    lines.append(
        _table(["metric", "value", "note"], [[k, fmt(report.get(k)), notes.get(k, "")] for k in keys])
    )
    annotators = report.get("annotators") or []
    if annotators:
        lines += [
            "",
            _table(
                ["annotator", "labels", "gold accuracy", "agreement with final", "mean kappa"],
                [
                    [
                        a["user_id"],
                        a["labels"],
                        fmt(a["gold_accuracy"]),
                        fmt(a["agreement_with_final"]),
                        fmt(a["mean_cohen_kappa"]),
                    ]
                    for a in annotators
                ],
            ),
        ]  # type: ignore[index]
    pairs = report.get("confused_pairs") or []
    if pairs:
        lines += ["", _table(["label a", "label b", "confusions"], pairs)]  # type: ignore[arg-type]
    return "\n".join(lines)


@app.command()
def digest(
    project: str,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print it instead of posting")] = False,
    chart: Annotated[Path | None, typer.Option(help="with --dry-run: also write the chart PNG here")] = None,
) -> None:
    """Post a quality digest now (since the last scheduled one), without using up the scheduled period."""
    import json

    from bot.app import make_client
    from bot.digest_poster import DigestPoster

    ctx = Context()
    cfg = ctx.project(project)
    channel = cfg.digest.channel or cfg.channel
    poster = DigestPoster(ctx.factory, make_client(ctx.settings), ctx.config)
    start, end = poster.current_period(cfg)
    message, png, _ = poster.compose(cfg, start, end)
    if dry_run:
        typer.echo(message["text"])
        typer.echo(json.dumps(message["blocks"], indent=2, ensure_ascii=False))
        if chart:
            chart.write_bytes(png)
            typer.echo(f"chart written to {chart}")
        return
    if ctx.settings.bot_token is None:
        raise fail("missing setting(s): SLACK_BOT_TOKEN")
    ts = poster.post(cfg, channel, message, png, metadata=None)
    typer.echo(f"digest posted to {channel} (ts {ts})")


@app.command()
def model(
    project: str,
    train_now: Annotated[bool, typer.Option("--train", help="train a new version now, then score")] = False,
    score_now: Annotated[
        bool, typer.Option("--score", help="score unresolved items with the newest model")
    ] = False,
    nice: Annotated[
        int,
        typer.Option(
            min=0, max=19, help="with --train/--score: lower this process's CPU priority by this much"
        ),
    ] = TRAINING_NICENESS,
) -> None:
    """The model versions and their scores; --train trains one now (in this process)."""
    from bot.items import get_project
    from bot.model_service import latest_model, score_items, train_project

    ctx = Context()
    cfg = ctx.project(project)
    _setup_logging("warning")
    if (train_now or score_now) and nice and hasattr(os, "nice"):
        # Training is batch work on the machine that answers Slack: under contention the
        # server's acknowledgements go first (the server starts this command for retraining).
        os.nice(nice)
    with db.session_scope(ctx.factory) as session:
        pid = get_project(session, project).id
    if train_now:
        outcome = train_project(ctx.factory, cfg, pid)
        if outcome.status == "trained":
            typer.echo(
                f"{project}: trained v{outcome.version} on {outcome.n_labels} labels in "
                f"{outcome.duration_s:.1f}s: accuracy {_fmt(outcome.cv_accuracy)}, "
                f"macro-F1 {_fmt(outcome.cv_macro_f1)} (cross-validated)"
            )
        else:
            typer.echo(f"{project}: training v{outcome.version} failed: {outcome.error}")
    if train_now or score_now:
        with db.read_scope(ctx.factory) as session:
            found = latest_model(session, cfg, pid)
        if found is None:
            typer.echo(f"{project}: no model and no rules yet: items keep their import order")
        else:
            report = score_items(ctx.factory, cfg, pid, *found)
            source = "rules" if report.version == 0 else f"v{report.version}"
            typer.echo(
                f"{project}: scored {report.scored} item(s) with {source} in {report.duration_s:.1f}s; "
                f"{report.auto_accepted} auto-accepted"
            )
    with db.session_scope(ctx.factory) as session:
        from storage.models import ModelVersion

        rows = session.scalars(
            select(ModelVersion).where(ModelVersion.project_id == pid).order_by(ModelVersion.version)
        ).all()
        table = [
            [
                f"v{r.version}",
                r.status,
                r.created_at.strftime("%Y-%m-%d %H:%M"),
                r.n_labels,
                _fmt(r.cv_accuracy),
                _fmt(r.cv_macro_f1),
                (r.error or "")[:80],
            ]
            for r in rows
        ]
    if not table:
        typer.echo(f"{project}: no model trained yet")
        return
    typer.echo(
        _table(["version", "status", "trained (UTC)", "labels", "accuracy", "macro-F1", "error"], table)
    )


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


# -- database ---------------------------------------------------------------------------------
@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply migrations to the database at DATABASE_URL."""
    settings = Settings.from_env()
    engine = db.make_engine(settings.database_url)
    before = db.current_revision(engine)
    db.upgrade(engine)
    typer.echo(
        f"database at {db.redact_url(settings.database_url)}: {before or 'empty'} -> {db.head_revision()}"
    )


@db_app.command("current")
def db_current() -> None:
    """Show the schema version of the database and the one this labelbot needs."""
    settings = Settings.from_env()
    engine = db.make_engine(settings.database_url)
    typer.echo(f"database: {db.current_revision(engine) or 'empty'}; labelbot needs: {db.head_revision()}")


# -- Slack -----------------------------------------------------------------------------------
@app.command()
def check() -> None:
    """Tell what is wrong before anything is posted: config, token, channels, user groups, database."""
    from bot.checks import run_checks

    problems = run_checks(typer.echo)
    if problems:
        raise fail(f"{problems} problem(s) found", code=1)
    typer.echo("all checks passed")


@app.command()
def remind(
    now: Annotated[
        str | None, typer.Option(help="pretend it is this UTC time (ISO 8601); for drills")
    ] = None,
) -> None:
    """Send due escalation reminders and fallbacks once (the server does this every minute)."""
    from bot.app import make_client
    from bot.dispatch import Dispatcher

    ctx = Context()
    when = datetime.fromisoformat(now).replace(tzinfo=UTC) if now else datetime.now(UTC)
    if ctx.settings.bot_token is None:
        raise fail("missing setting(s): SLACK_BOT_TOKEN")
    dispatcher = Dispatcher(
        ctx.factory, make_client(ctx.settings, retries=False), ctx.config, now=lambda: when
    )
    dispatcher.sync()
    typer.echo(f"sent {dispatcher.send_reminders()} reminder(s)")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="HTTP mode: interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="HTTP mode: port")] = 3000,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="HTTP mode: server processes answering Slack (PostgreSQL)")
    ] = 1,
    threads: Annotated[
        int | None,
        typer.Option(
            min=1, max=64, help="HTTP mode: threads per process running listeners [SQLite 2, PostgreSQL 4]"
        ),
    ] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning, error")] = "info",
) -> None:
    """Run the bot: Socket Mode when SLACK_APP_TOKEN is set, else HTTP at /slack/events."""

    import uvicorn
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.dispatch import Dispatcher
    from bot.listeners.actions import is_click
    from bot.model_service import TrainingLauncher
    from bot.scheduler import start_scheduler
    from bot.server import http_app

    _setup_logging(log_level)
    ctx = Context()
    try:
        ctx.settings.require_slack()
    except SettingsError as exc:
        raise fail(str(exc)) from None
    if workers > 1 and ctx.settings.mode == "socket":
        raise fail("--workers is for HTTP mode; Socket Mode runs one connection (unset SLACK_APP_TOKEN)")
    if workers > 1 and ctx.engine.dialect.name == "sqlite":
        raise fail(
            "--workers needs PostgreSQL: SQLite lets one process write at a time, so more processes "
            "would only queue for its lock. Set DATABASE_URL to a PostgreSQL database, or serve "
            "with one worker."
        )
    factory = ctx.factory
    # SQLite writes one transaction at a time, so more threads only trade the GIL; PostgreSQL
    # transactions wait on the network, and a few more threads keep the process busy meanwhile.
    sqlite = ctx.engine.dialect.name == "sqlite"
    threads = threads or (2 if sqlite else 4)
    rt, bolt_app = _runtime(ctx)
    dispatcher = Dispatcher(factory, _client(ctx, retries=False), ctx.config)
    rt.dispatcher = dispatcher
    dispatcher.start()
    launcher = TrainingLauncher(factory, list(ctx.config.projects), dispatcher.project_ids)
    scheduler = start_scheduler(dispatcher, rt.digests, launcher)

    groups = [g for p in ctx.config.projects for g in p.annotators]

    def quick_click(body: dict[str, Any]) -> bool:
        # On SQLite a click is a short write under one lock: run on the event loop, it skips two
        # thread hand-overs (benchmarks/clicks.py: ~+10% clicks/s). Only when no Slack call can
        # come first: a stale user-group cache means usergroups.users.list, which goes to a thread.
        return is_click(body) and rt.directory.fresh(groups)

    try:
        if workers > 1:
            # This process posts, schedules and trains; the workers (fresh processes that load the
            # same environment) answer Slack's requests. A worker's click wakes no dispatcher:
            # this one looks for work every second anyway.
            log.info(
                "labelbot serving HTTP on http://%s:%s/slack/events with %d workers", host, port, workers
            )
            os.environ[WORKER_LOG_LEVEL] = log_level
            os.environ[WORKER_THREADS] = str(threads)
            uvicorn.run(
                "bot.cli:http_worker",
                factory=True,
                host=host,
                port=port,
                workers=workers,
                log_level="warning",
                timeout_graceful_shutdown=5,
            )
        elif ctx.settings.mode == "socket":
            app_token = ctx.settings.app_token.get_secret_value() if ctx.settings.app_token else ""
            handler = SocketModeHandler(bolt_app, app_token)
            handler.connect()
            log.info("labelbot connected in Socket Mode; health at http://%s:%s/healthz", host, port)
            config = uvicorn.Config(http_app(None, _health(ctx)), host=host, port=port, log_level="warning")
            server = uvicorn.Server(config)
            _freeze_startup_heap()
            server.run()  # serves /healthz until SIGINT/SIGTERM
            handler.close()
        else:
            log.info("labelbot serving HTTP on http://%s:%s/slack/events", host, port)
            _freeze_startup_heap()
            uvicorn.run(
                http_app(
                    bolt_app,
                    _health(ctx),
                    threads=threads,
                    inline=quick_click if sqlite else None,
                    responder=rt.responder,
                    group=rt.commits if sqlite else None,
                ),
                host=host,
                port=port,
                log_level="warning",
                timeout_graceful_shutdown=5,
            )
    finally:
        scheduler.shutdown(wait=False)
        launcher.stop()
        dispatcher.stop()


WORKER_LOG_LEVEL = "LABELBOT_WORKER_LOG_LEVEL"
WORKER_THREADS = "LABELBOT_WORKER_THREADS"


def _client(ctx: Context, *, retries: bool = True) -> Any:
    from bot.app import make_client

    return make_client(ctx.settings, retries=retries)


def _runtime(ctx: Context) -> tuple[Any, Any]:
    """The Runtime and Bolt app of a serving process, after checking the token with Slack."""
    from bot.access import Directory
    from bot.app import build_app
    from bot.digest_poster import DigestPoster
    from bot.runtime import Runtime

    client = _client(ctx)
    try:
        client.auth_test()
    except Exception as exc:  # the error names the API error, never the token
        raise fail(
            f"Slack rejected SLACK_BOT_TOKEN at {ctx.settings.api_url}auth.test: {_slack_error(exc)}"
        ) from None
    rt = Runtime(ctx.config, ctx.factory, client, Directory(client))
    rt.prime_projects()
    rt.digests = DigestPoster(ctx.factory, client, ctx.config)
    return rt, build_app(rt, ctx.settings)


def _health(ctx: Context) -> Any:
    def health() -> dict[str, object]:
        try:
            with ctx.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return {"ok": True, "mode": ctx.settings.mode}
        except Exception as exc:
            return {"ok": False, "error": type(exc).__name__}

    return health


def http_worker() -> Any:
    """One process of ``serve --workers N`` (uvicorn imports this): the Slack endpoint only."""

    from bot.server import http_app

    _setup_logging(os.environ.get(WORKER_LOG_LEVEL, "info"))
    ctx = Context()
    rt, bolt_app = _runtime(ctx)
    threads = int(os.environ.get(WORKER_THREADS, "4"))
    app = http_app(bolt_app, _health(ctx), threads=threads, responder=rt.responder)
    _freeze_startup_heap()
    return app


def _freeze_startup_heap() -> None:
    """Keep what start-up built (modules, configuration, caches: ~270,000 objects) out of the
    garbage collector's full collections. Each one otherwise walked them all, on the event loop
    that acknowledges clicks: 80-170 ms pauses every few seconds at 32 clients, the largest part
    of the p99 (benchmarks/clicks.py)."""
    gc.collect()
    gc.freeze()


def _slack_error(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if response is not None and hasattr(response, "get"):
        return str(response.get("error"))
    return type(exc).__name__


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
