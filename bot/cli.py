"""The ``labelbot`` command: parses arguments, opens sessions, calls the domain, prints.

Serving is ``bot.serve``; what a command prints comes from domain functions, never SQL here.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Config, ConfigError, ProjectConfig, load_config
from bot.exits import ExitCode
from bot.settings import Settings, SettingsError
from storage import db

if TYPE_CHECKING:
    from bot.importer import Rejected
    from bot.names import Names
    from storage.models import Project

TRAINING_NICENESS = 19  # `model --train/--score`: the lowest priority; the server's acks go first

app = typer.Typer(add_completion=False, no_args_is_help=True, help="labelbot: data labeling in Slack.")
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
app.add_typer(db_app, name="db")
log = logging.getLogger("labelbot")


def fail(message: str, code: int = ExitCode.BAD_INPUT) -> typer.Exit:
    """Print ``message`` as an error and return the exit to raise (codes: ``bot.exits``)."""
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(int(code))


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as exc:
        raise fail(str(exc)) from None


def _database_failure(exc: Exception, url: str) -> typer.Exit:
    """One line for a database that cannot be opened: a bad DATABASE_URL exits 2, one that cannot
    be reached 3. The password never shows (``db.redact_url``; the driver's first line names none)."""
    where = db.redact_url(url)
    if isinstance(exc, db.SchemaError):
        return fail(str(exc))
    if isinstance(exc, NoSuchModuleError | ArgumentError):
        scheme = make_url(url).drivername
        return fail(
            f"DATABASE_URL {where}: unknown database kind {scheme!r}; use postgresql:// or sqlite:///"
        )
    if isinstance(exc, ImportError):
        return fail(f"DATABASE_URL {where}: its driver is not installed ({exc.name or exc})")
    return fail(f"cannot open the database at {where}: {db.describe_error(exc)}", ExitCode.UNREACHABLE)


def _open_engine(url: str) -> Engine:
    """The engine for ``url``; a SQLite file in a folder that does not exist is a bad setting."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        folder = Path(str(parsed.database)).parent
        if not folder.is_dir():
            raise fail(f"DATABASE_URL {db.redact_url(url)}: the folder {folder} does not exist")
    try:
        return db.make_engine(url)
    except Exception as exc:
        raise _database_failure(exc, url) from None


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
            engine = _open_engine(self.settings.database_url)
            try:
                db.ensure_schema(engine)
            except (db.SchemaError, DBAPIError, OSError) as exc:
                raise _database_failure(exc, self.settings.database_url) from None
            self._engine = engine
        return self._engine

    @property
    def factory(self) -> sessionmaker[Session]:
        return db.make_session_factory(self.engine)

    def project(self, key: str) -> ProjectConfig:
        try:
            return self.config.project(key)
        except ConfigError as exc:
            raise fail(str(exc)) from None


Progress = Callable[[int, int], None]


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


class Bars:
    """Progress bars on stderr, drawn only when stderr is a terminal (never in pipes, CI or tests).

    ``step(description)`` returns the ``on_progress(done, total)`` callback the domain functions
    take (None when there is no terminal, so they skip even the call); ``wait(description)`` shows
    a phase of unknown length (reading a file) until the next step starts.
    """

    def __init__(self) -> None:
        self.enabled = stderr_is_terminal()
        self._bar: Any = None
        self._waiting: Any = None

    def __enter__(self) -> Bars:
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            self._bar = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
            )
            self._bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._done_waiting()
            self._bar.__exit__(*exc)

    def _done_waiting(self) -> None:
        if self._waiting is not None:
            self._bar.update(self._waiting, total=1, completed=1)
            self._waiting = None

    def wait(self, description: str) -> None:
        if self._bar is not None:
            self._done_waiting()
            self._waiting = self._bar.add_task(description, total=None)

    def step(self, description: str) -> Progress | None:
        if self._bar is None:
            return None
        bar = self._bar
        task: list[int] = []

        def update(done: int, total: int) -> None:
            if not task:
                self._done_waiting()
                task.append(bar.add_task(description, total=total))
            bar.update(task[0], completed=done, total=total)

        return update


# -- import / export ------------------------------------------------------------------------
@app.command("import")
def import_(
    project: str,
    file: Path,
    id_field: Annotated[str | None, typer.Option(help="column with the item id [default: id]")] = None,
    text_field: Annotated[
        str | None, typer.Option(help="column with the text to label [default: text]")
    ] = None,
    gold_field: Annotated[str | None, typer.Option(help="column with a known (gold) label")] = None,
    fmt: Annotated[
        str | None, typer.Option("--format", help="csv, jsonl or parquet (when the extension says nothing)")
    ] = None,
    skip_invalid: Annotated[
        bool, typer.Option(help="import the good rows, write the bad ones to a file")
    ] = False,
    rejected: Annotated[Path | None, typer.Option(help="where --skip-invalid writes rejected rows")] = None,
    labels: Annotated[
        bool, typer.Option("--labels", help="import labels (item_id, user_id, label, created_at) instead")
    ] = False,
) -> None:
    """Import items (or labels, with --labels) from CSV, JSONL or Parquet; all rows land or none."""
    from bot.exporter import check_output_path
    from bot.importer import (
        InputFileError,
        check_input_file,
        detect_format,
        format_rejections,
        write_rejected,
    )
    from bot.items import get_project

    item_flags = {"--id-field": id_field, "--text-field": text_field, "--gold-field": gold_field}
    item_only = [name for name, value in item_flags.items() if value is not None]
    if labels and item_only:
        raise fail(f"--labels and {item_only[0]} cannot be used together: a labels file has fixed columns")
    if rejected is not None and not skip_invalid:
        raise fail("--rejected needs --skip-invalid (without it, a file with invalid rows imports nothing)")
    target = rejected or file.with_name(f"{file.stem}.rejected{file.suffix}")
    try:
        check_input_file(file)
        detect_format(file, fmt)
        if skip_invalid:  # checked before anything is imported: the rows must have somewhere to go
            check_output_path(target)
            detect_format(target, None if rejected else fmt)
    except InputFileError as exc:
        raise fail(str(exc)) from None
    ctx = Context()
    cfg = ctx.project(project)
    with Bars() as bars, db.session_scope(ctx.factory) as session:
        proj = get_project(session, project)
        if labels:
            summary, bad = _import_labels(session, cfg, proj, file, fmt, skip_invalid, bars)
        else:
            summary, bad = _import_items(
                session,
                cfg,
                proj,
                file,
                fmt,
                skip_invalid,
                (id_field or "id", text_field or "text", gold_field),
                bars,
            )
    typer.echo(summary)
    if bad:
        try:
            write_rejected(bad, target, None if rejected else fmt)
        except (InputFileError, OSError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise fail(
                f"imported, but the {len(bad)} rejected row(s) could not be written: {reason}"
            ) from None
        typer.echo(f"{len(bad)} row(s) rejected, written to {target}:\n{format_rejections(bad)}")


def _import_items(
    session: Session,
    cfg: ProjectConfig,
    proj: Project,
    file: Path,
    fmt: str | None,
    skip_invalid: bool,
    fields: tuple[str, str, str | None],
    bars: Bars,
) -> tuple[str, list[Rejected]]:
    from bot.importer import InputFileError, read_item_rows, upsert_items

    id_field, text_field, gold_field = fields
    bars.wait(f"reading {file.name}")
    try:
        rows, bad = read_item_rows(
            file,
            id_field=id_field,
            text_field=text_field,
            gold_field=gold_field,
            labels=cfg.label_values,
            fmt=fmt,
            on_progress=bars.step("checking rows"),
        )
    except InputFileError as exc:
        raise fail(str(exc)) from None
    _refuse_invalid(file, bad, skip_invalid)
    report = upsert_items(session, proj, rows, on_progress=bars.step("storing items and history"))
    return f"{cfg.key}: {report.new} new, {report.unchanged} unchanged, {report.changed} changed", bad


def _import_labels(
    session: Session,
    cfg: ProjectConfig,
    proj: Project,
    file: Path,
    fmt: str | None,
    skip_invalid: bool,
    bars: Bars,
) -> tuple[str, list[Rejected]]:
    from bot.importer import InputFileError
    from bot.label_import import import_labels, known_item_ids, read_label_rows

    bars.wait(f"reading {file.name}")
    try:
        rows, bad = read_label_rows(
            file, cfg, set(known_item_ids(session, proj)), fmt, on_progress=bars.step("checking rows")
        )
    except InputFileError as exc:
        raise fail(str(exc)) from None
    _refuse_invalid(file, bad, skip_invalid)
    done = import_labels(session, cfg, proj, rows, on_progress=bars.step("storing labels"))
    summary = (
        f"{cfg.key}: {done.new} new label(s), {done.changed} changed, {done.unchanged} unchanged; "
        f"{done.resolved} item(s) resolved, {done.escalated} escalated"
        + (f"; {done.older} older than the user's answer in Slack, not applied" if done.older else "")
    )
    return summary, bad


def _refuse_invalid(file: Path, bad: list[Rejected], skip_invalid: bool) -> None:
    from bot.importer import format_rejections

    if bad and not skip_invalid:
        raise fail(
            f"{file.name}: {len(bad)} invalid row(s), nothing imported:\n{format_rejections(bad)}\n"
            "Fix them, or pass --skip-invalid to import the good rows."
        )


@app.command("export")
def export(
    project: str,
    output: Annotated[Path, typer.Option("-o", "--output", help="file to write (.csv, .jsonl, .parquet)")],
    fmt: Annotated[str | None, typer.Option("--format", help="csv, jsonl or parquet")] = None,
    labels: Annotated[bool, typer.Option("--labels", help="the label history instead of items")] = False,
    discussions: Annotated[bool, typer.Option("--discussions", help="escalation thread messages")] = False,
    raw_csv: Annotated[
        bool,
        typer.Option(
            "--raw-csv",
            help="CSV cells as stored, without the ' that keeps spreadsheets from running formulas",
        ),
    ] = False,
    redacted: Annotated[
        bool,
        typer.Option(
            "--redacted",
            help="text, metadata and thread messages redacted as the project's privacy section says",
        ),
    ] = False,
) -> None:
    """Export items (one row each), the label history, or thread discussions.

    The database keeps the original text and so do exports, unless ``--redacted``."""
    from bot.exporter import discussions_frame, export_format, items_frame, label_events_frame, write_frame
    from bot.importer import InputFileError
    from bot.items import get_project

    if labels and discussions:
        raise fail("--labels and --discussions cannot be used together: export one, then the other")
    try:
        kind = export_format(output, fmt, raw_csv=raw_csv)
    except InputFileError as exc:
        raise fail(str(exc)) from None
    ctx = Context()
    privacy = ctx.project(project).privacy
    if redacted and not privacy.active:
        raise fail(
            f"--redacted: project {project!r} redacts nothing; name detectors in its privacy.redact "
            "(or patterns in privacy.custom) in the configuration, see the README's Privacy section"
        )
    redact = privacy.apply if redacted else None
    with Bars() as bars:
        bars.wait("reading the database")
        with db.read_scope(ctx.factory) as session:
            proj = get_project(session, project)
            if labels:
                frame = label_events_frame(session, proj)
            elif discussions:
                frame = discussions_frame(session, proj, redact=redact)
            else:
                frame = items_frame(session, proj, on_progress=bars.step("reading items"), redact=redact)
        bars.wait(f"writing {output.name}")
        try:
            write_frame(frame, output, kind, raw_csv=raw_csv)
        except InputFileError as exc:
            raise fail(str(exc)) from None
    typer.echo(f"wrote {len(frame)} row(s) to {output}")


# -- status, history, guidelines ------------------------------------------------------------------
IdsOption = Annotated[bool, typer.Option("--ids", help="show Slack user IDs instead of display names")]


def _names(ctx: Context, ids: bool) -> Names:
    """People's display names through Slack when SLACK_BOT_TOKEN is set; with ``--ids``, or
    without a token, the IDs as stored."""
    from bot.names import IdNames

    if ids or ctx.settings.bot_token is None:
        return IdNames()
    from slack_sdk import WebClient

    from bot.slack.names import SlackNames

    # Its own logger, silent: a failure is the one warning _names_warning prints, not a log line.
    quiet = logging.getLogger("labelbot.cli.names")
    quiet.setLevel(logging.CRITICAL)
    client = WebClient(
        token=ctx.settings.bot_token.get_secret_value(),
        base_url=ctx.settings.api_url,
        timeout=15,
        retry_handlers=[],
        logger=quiet,
    )
    return SlackNames(client, log_failures=False)


def _names_warning(names: Names) -> None:
    """One line on stderr when Slack could not give names (the tables then show IDs)."""
    problem = getattr(names, "problem", None)
    if problem:
        typer.echo(f"warning: showing Slack IDs, not names: {problem}", err=True)


def _table(headers: list[str], rows: list[list[object]]) -> str:
    cells = [[str(c) for c in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


@app.command()
def status(project: Annotated[str | None, typer.Argument()] = None, ids: IdsOption = False) -> None:
    """Counts per status and per annotator (by name when Slack is configured)."""
    from bot.items import project_id
    from bot.progress import annotator_activity, status_counts

    ctx = Context()
    keys = [ctx.project(project).key] if project else [p.key for p in ctx.config.projects]
    names = _names(ctx, ids)
    with db.read_scope(ctx.factory) as session:
        for key in keys:
            pid = project_id(session, key)
            counts = status_counts(session, pid)
            typer.echo(f"\n{key}: {sum(counts.values())} item(s)")
            typer.echo(_table(["status", "items"], [[s, n] for s, n in counts.items()]))
            people = annotator_activity(session, pid)
            if people:
                typer.echo("")
                typer.echo(
                    _table(
                        ["annotator", "current labels", "skips"],
                        [[names.name(a.user_id), a.labels, a.skips] for a in people],
                    )
                )
    _names_warning(names)


@app.command()
def history(project: str, item_id: str, ids: IdsOption = False) -> None:
    """Every event of one item, oldest first, its admins' reveals among them (actors by name when
    Slack is configured)."""
    from bot.history import admin_events
    from bot.items import NotFound, get_item_by_external, get_project, item_events

    ctx = Context()
    ctx.project(project)
    names = _names(ctx, ids)
    with db.read_scope(ctx.factory) as session:
        try:
            item = get_item_by_external(session, get_project(session, project), item_id)
        except NotFound as exc:
            raise fail(str(exc)) from None
        events = [
            (
                e.created_at,
                0,
                e.id,
                [
                    e.round,
                    names.name(e.actor),
                    e.action,
                    e.label or "",
                    e.previous_label or "",
                    _detail(e.detail),
                ],
            )
            for e in item_events(session, item.id)
        ]
        # Reveals by admins (``admin_events``), merged in by time; an item event first on a tie.
        events += [
            (e.at, 1, e.id, ["", names.name(e.actor), e.action, "", "", _detail(e.detail)])
            for e in admin_events(session, item.project_id, item_id=item.id)
        ]
        rows = [
            [at.strftime("%Y-%m-%d %H:%M:%S"), *cells]
            for at, _, _, cells in sorted(events, key=lambda e: e[:3])
        ]
        header = f"{project} / {item_id}: {item.status}" + (
            f", {item.final_label} ({item.resolution})" if item.final_label else ""
        )
    typer.echo(header)
    typer.echo(_table(["time (UTC)", "round", "actor", "action", "label", "previous", "detail"], rows))
    _names_warning(names)


@app.command("admin-log")
def admin_log(
    project: str,
    limit: Annotated[int | None, typer.Option(min=1, help="only the newest N events")] = None,
    ids: IdsOption = False,
) -> None:
    """What the project's admins did (pause, resume, reveal), oldest first, with who and when."""
    from bot.history import admin_events
    from bot.items import project_id

    ctx = Context()
    ctx.project(project)
    names = _names(ctx, ids)
    with db.read_scope(ctx.factory) as session:
        pid = project_id(session, project)
        events = admin_events(session, pid, limit=limit) if pid is not None else []
        rows: list[list[object]] = [
            [
                e.at.strftime("%Y-%m-%d %H:%M:%S"),
                names.name(e.actor),
                e.action,
                e.external_id or "",
                _detail({k: v for k, v in e.detail.items() if k != "external_id"}),
            ]
            for e in events
        ]
    if not rows:
        typer.echo(f"{project}: no admin events yet")
        return
    typer.echo(_table(["time (UTC)", "actor", "action", "item", "detail"], rows))
    _names_warning(names)


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
        raise fail(
            f"{option} {value!r} is not an ISO 8601 date or date and time; write it like 2026-12-03 "
            "or 2026-12-03T09:30 (UTC unless it ends with an offset like +01:00)"
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


@app.command()
def quality(
    project: str,
    since: Annotated[str | None, typer.Option(help="from this UTC date or time (inclusive)")] = None,
    until: Annotated[str | None, typer.Option(help="to this UTC date or time (exclusive)")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="print JSON instead of tables (people by ID, as in exports)")
    ] = False,
    ids: IdsOption = False,
) -> None:
    """The quality report: agreement, gold accuracy, audits, escalations, confusions, Dawid-Skene."""
    import json

    from bot.items import get_project
    from bot.reports import Period, build_report

    ctx = Context()
    cfg = ctx.project(project)
    period = Period(_utc(since, "--since"), _utc(until, "--until"))
    if period.since is not None and period.until is not None and period.since >= period.until:
        raise fail(f"--since {since} is not before --until {until}: the period is empty")
    with db.read_scope(ctx.factory) as session:
        report = build_report(session, cfg, get_project(session, project).id, period)
    if as_json:
        typer.echo(json.dumps(report, indent=2, ensure_ascii=False))
        return
    names = _names(ctx, ids)
    typer.echo(render_report(report, names))
    _names_warning(names)


def render_report(report: dict[str, Any], names: Names | None = None) -> str:
    """The report as readable tables (the JSON has everything); people by ``names`` (else IDs)."""
    from bot.names import IdNames

    who = names or IdNames()

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
                        who.name(a["user_id"]),
                        a["labels"],
                        fmt(a["gold_accuracy"]),
                        fmt(a["agreement_with_final"]),
                        fmt(a["mean_cohen_kappa"]),
                    ]
                    for a in annotators
                ],
            ),
        ]
    pairs = report.get("confused_pairs") or []
    if pairs:
        lines += ["", _table(["label a", "label b", "confusions"], pairs)]
    return "\n".join(lines)


@app.command()
def digest(
    project: str,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print it instead of posting")] = False,
    chart: Annotated[Path | None, typer.Option(help="with --dry-run: also write the chart PNG here")] = None,
) -> None:
    """Post a quality digest now (since the last scheduled one), without using up the scheduled period."""
    import json

    from bot.exporter import check_output_path
    from bot.importer import InputFileError
    from bot.slack.app import make_client
    from bot.slack.posting.digests import DigestPoster
    from bot.slack.posting.poster import SlackPoster

    if chart is not None:
        if not dry_run:
            raise fail("--chart needs --dry-run (a posted digest carries its chart)")
        try:
            check_output_path(chart)
        except InputFileError as exc:
            raise fail(str(exc)) from None
    ctx = Context()
    cfg = ctx.project(project)
    channel = cfg.digest.channel or cfg.channel
    poster = DigestPoster(SlackPoster(make_client(ctx.settings)), ctx.factory, ctx.config)
    start, end = poster.current_period(cfg)
    message, png, _ = poster.compose(cfg, start, end)
    if dry_run:
        typer.echo(message["text"])
        typer.echo(json.dumps(message["blocks"], indent=2, ensure_ascii=False))
        if chart:
            try:
                chart.write_bytes(png)
            except OSError as exc:
                raise fail(f"cannot write {chart}: {exc.strerror or exc}") from None
            typer.echo(f"chart written to {chart}")
        return
    if ctx.settings.bot_token is None:
        raise fail("missing setting(s): SLACK_BOT_TOKEN")
    from slack_sdk.errors import SlackApiError

    from bot.slack.calls import classify

    try:
        ts = poster.post(channel, message, png)
    except (SlackApiError, OSError) as exc:
        failure = classify(exc)
        raise _slack_failure(f"posting the digest to {channel} failed", failure.kind, failure.error) from None
    typer.echo(f"digest posted to {channel} (ts {ts})")


#: Slack's errors that refuse the token itself, or a scope it lacks (exit 4).
TOKEN_REFUSED = {
    "invalid_auth",
    "not_authed",
    "account_inactive",
    "token_revoked",
    "token_expired",
    "not_allowed_token_type",
    "missing_scope",
    "no_permission",
}


def _slack_failure(what: str, kind: str, error: str) -> typer.Exit:
    """One line for a Slack call that failed: refused token or scope 4, Slack not answering 3,
    anything else Slack refused (a channel not found, the bot not in it) 2."""
    code = error.split(" ", 1)[0]  # ``missing_scope (needed: …; granted: …)`` (bot.slack.calls)
    if code == "missing_scope":
        return fail(f"{what}: the app lacks a scope: {error}", ExitCode.REFUSED)
    if code in TOKEN_REFUSED:
        return fail(f"{what}: Slack refused the token ({error})", ExitCode.REFUSED)
    if kind in ("ambiguous", "ratelimited"):
        return fail(f"{what}: Slack cannot be reached ({error}); try again later", ExitCode.UNREACHABLE)
    return fail(f"{what}: Slack answered {error}")


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
    from bot.model import claims
    from bot.model.registry import versions
    from bot.model.scoring import score_items
    from bot.model.training import latest_model, train_project
    from storage.models import ModelStatus

    ctx = Context()
    cfg = ctx.project(project)
    logging.basicConfig(level="WARNING", format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if (train_now or score_now) and nice and hasattr(os, "nice"):
        # Training is batch work on the machine that answers Slack: under contention the
        # server's acknowledgements go first (the server starts this command for retraining).
        os.nice(nice)
    with db.session_scope(ctx.factory) as session:
        pid = get_project(session, project).id
    with contextlib.ExitStack() as held:
        if train_now:
            # One host trains a project at a time: the server's launcher hands its claim over.
            # The claim lasts through the scoring below (the stack closes at the command's end).
            holder = claims.handed_over()
            if not held.enter_context(claims.holding(ctx.factory, pid, holder)):
                raise fail(f"{project}: another process is training this project now; try again later")
            with Bars() as bars:
                outcome = train_project(ctx.factory, cfg, pid, on_progress=bars.step("training (fits)"))
            if outcome.status == ModelStatus.TRAINED:
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
                with Bars() as bars:
                    report = score_items(
                        ctx.factory, cfg, pid, *found, on_progress=bars.step("scoring items")
                    )
                source = "rules" if report.version == 0 else f"v{report.version}"
                typer.echo(
                    f"{project}: scored {report.scored} item(s) with {source} in {report.duration_s:.1f}s; "
                    f"{report.auto_accepted} auto-accepted"
                )
    with db.read_scope(ctx.factory) as session:
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
            for r in versions(session, pid)
        ]
    if not table:
        typer.echo(f"{project}: no model trained yet")
        return
    typer.echo(
        _table(["version", "status", "trained (UTC)", "labels", "accuracy", "macro-F1", "error"], table)
    )


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


_DATA_SUFFIXES = {".csv", ".jsonl", ".parquet"}


@app.command()
def simulate(
    target: Annotated[str, typer.Argument(help="a labeled CSV/JSONL/Parquet file, or a project key")],
    text_field: Annotated[str, typer.Option(help="file: the column with the text")] = "text",
    label_field: Annotated[str, typer.Option(help="file: the column with the true label")] = "label",
    fmt: Annotated[str | None, typer.Option("--format", help="csv, jsonl or parquet")] = None,
    strategies: Annotated[
        str | None, typer.Option(help="comma-separated strategies to compare with random order")
    ] = None,
    overlap: Annotated[
        str, typer.Option(help="annotators_per_item MIN-MAX to compare with fixed MAX; 'none' to skip")
    ] = "1-3",
    accuracy: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="simulated annotators' accuracy, for the overlap runs")
    ] = 0.85,
    budget: Annotated[int, typer.Option(min=1, help="human labels per run")] = 1500,
    seeds: Annotated[int, typer.Option(min=1, max=50, help="runs per strategy (medians are reported)")] = 5,
    chart: Annotated[Path | None, typer.Option(help="write the learning curves to this PNG")] = None,
    length_power: Annotated[
        float | None,
        typer.Option(min=0.0, max=2.0, help="model.length_power: weigh uncertainty by text length (0: off)"),
    ] = None,
) -> None:
    """Replay labeled data through the bot's model, ranking and overlap rule: labels saved, advice."""
    from bot.learning.replay import ReplayError, load_labeled_file, parse_overlap, render, replay
    from bot.learning.simulate import mean_result, plot_learning_curves
    from bot.learning.strategies import DEFAULT_STRATEGY

    try:
        span = None if overlap.strip().lower() == "none" else parse_overlap(overlap)
        chosen = [
            s.strip() for s in (strategies or f"{DEFAULT_STRATEGY},uncertainty").split(",") if s.strip()
        ]
        path = Path(target)
        options: dict[str, Any] = {}
        if path.suffix.lower() in _DATA_SUFFIXES or path.exists():
            with Bars() as bars:
                bars.wait(f"reading {path.name}")
                texts, labels = load_labeled_file(path, text_field, label_field, fmt)
            source = path.name
        else:
            from bot.items import get_project
            from bot.model.training import training_data

            ctx = Context()
            cfg = ctx.project(target)
            with db.session_scope(ctx.factory) as session:
                texts, labels = training_data(session, get_project(session, target).id)
            source = f"project {target}"
            options = {
                "retrain_every": cfg.model.retrain_every,
                "initial_size": cfg.model.min_labels,
                "explore": cfg.model.explore,
                "char_ngrams": cfg.model.char_ngrams,
                "length_power": cfg.model.length_power,
            }
            if strategies is None:
                chosen = list(dict.fromkeys([cfg.model.strategy, DEFAULT_STRATEGY, "uncertainty"]))
        if length_power is not None:
            options["length_power"] = length_power
        with Bars() as bars:
            report = replay(
                texts, labels, source=source, strategies=chosen, overlap=span, annotator_accuracy=accuracy,
                budget=budget, seeds=seeds, on_progress=bars.step("simulating (runs)"), **options,
            )  # fmt: skip
    except ReplayError as exc:
        raise fail(str(exc)) from None
    typer.echo(render(report), nl=False)
    if chart is not None:
        means = [mean_result(runs, name=name) for name, runs in report.results.items()]
        try:
            written = plot_learning_curves(
                means, chart, title=f"{source}: macro-F1 vs labels", baseline="random"
            )
        except OSError as exc:
            raise fail(f"cannot write the chart to {chart}: {exc.strerror or exc}") from None
        typer.echo(f"chart written to {written}")


# -- database ---------------------------------------------------------------------------------
@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply migrations to the database at DATABASE_URL."""
    settings = _settings()
    engine = _open_engine(settings.database_url)
    try:
        before = db.current_revision(engine)
        db.upgrade(engine)
    except (DBAPIError, OSError) as exc:  # the server cannot be reached, or refuses the connection
        raise _database_failure(exc, settings.database_url) from None
    typer.echo(
        f"database at {db.redact_url(settings.database_url)}: {before or 'empty'} -> {db.head_revision()}"
    )


@db_app.command("current")
def db_current() -> None:
    """Show the schema version of the database and the one this labelbot needs."""
    settings = _settings()
    engine = _open_engine(settings.database_url)
    try:
        current = db.current_revision(engine)
    except (DBAPIError, OSError) as exc:
        raise _database_failure(exc, settings.database_url) from None
    typer.echo(f"database: {current or 'empty'}; labelbot needs: {db.head_revision()}")


# -- Slack -----------------------------------------------------------------------------------
@app.command()
def check(
    timeout: Annotated[
        float, typer.Option(min=0.1, help="seconds to wait for each answer from Slack")
    ] = 10.0,
) -> None:
    """Tell what is wrong before anything is posted: configuration, settings, database, then Slack
    (token, scopes, channels, user groups, experts and admins). Exits with the first problem's code."""
    from bot.slack.checks import run_checks

    report = run_checks(typer.echo, timeout)
    if report.problems:
        raise fail(f"{report.problems} problem(s) found", report.code)
    typer.echo("all checks passed")


@app.command()
def init(
    datafile: Annotated[Path, typer.Argument(help="items to label: CSV, JSONL or Parquet")],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="where to write [LABELBOT_CONFIG or labelbot.yml]")
    ] = None,
) -> None:
    """Write a commented starter labelbot.yml proposed from DATAFILE (never over an existing file)."""
    from bot.importer import InputFileError
    from bot.settings import config_path_from_env
    from bot.starter import next_steps, propose, render

    target = output or Path(config_path_from_env())
    if target.exists():
        raise fail(f"{target} exists; init never overwrites it (remove it, or pass -o OTHER.yml)")
    try:
        starter = propose(datafile)
    except InputFileError as exc:
        raise fail(str(exc)) from None
    try:
        with target.open("x", encoding="utf-8") as handle:  # "x": refuse a file created meanwhile
            handle.write(render(starter, datafile))
    except OSError as exc:
        raise fail(f"cannot write {target}: {exc.strerror or exc}") from None
    for line in next_steps(starter, datafile, target):
        typer.echo(line)


@app.command()
def remind(
    now: Annotated[
        str | None, typer.Option(help="pretend it is this UTC time (ISO 8601); for drills")
    ] = None,
) -> None:
    """Send due escalation reminders and fallbacks once (the server does this every minute)."""
    from bot.items import sync_projects
    from bot.slack.app import make_client
    from bot.slack.checks import check_token
    from bot.slack.posting.poster import SlackPoster
    from bot.slack.posting.reminders import ReminderPoster

    when = _utc(now, "--now") or datetime.now(UTC)
    ctx = Context()
    if ctx.settings.bot_token is None:
        raise fail("missing setting(s): SLACK_BOT_TOKEN")
    with db.session_scope(ctx.factory) as session:
        ids = {key: row.id for key, row in sync_projects(session, ctx.config).items()}
    client = make_client(ctx.settings, retries=False)
    token = check_token(client)  # Slack out of reach or refusing: one line and its code, not a log
    if token.problem is not None:
        raise fail(token.problem + (f"; {token.fix}" if token.fix else ""), token.code)
    reminders = ReminderPoster(SlackPoster(client), ctx.factory, ctx.config, ids, now=lambda: when)
    typer.echo(f"sent {reminders.send_due()} reminder(s)")


@app.command()
def serve(
    host: Annotated[
        str | None,
        typer.Option(help="interface to listen on [LABELBOT_HOST, else 127.0.0.1]", show_default=False),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help="port [LABELBOT_PORT, else PORT, else 3000]", show_default=False),
    ] = None,
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
    log_format: Annotated[
        str | None, typer.Option(help="text or json [LABELBOT_LOG_FORMAT, else text]", show_default=False)
    ] = None,
    role: Annotated[
        str,
        typer.Option(
            help="all: answer Slack, post, schedule, train; web: answer Slack; worker: post, schedule, train"
        ),
    ] = "all",
) -> None:
    """Run the bot: Socket Mode when SLACK_APP_TOKEN is set, else HTTP at /slack/events."""
    from bot import serve as serving

    if role not in serving.ROLES:
        raise fail(f"--role must be one of {', '.join(serving.ROLES)}")
    if log_format not in (None, "text", "json"):
        raise fail("--log-format must be text or json")
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        serving.setup_logging(log_level)
        raise fail(str(exc)) from None
    fmt = log_format or settings.log_format
    serving.setup_logging(log_level, fmt)
    where = host or settings.host or "127.0.0.1", port or settings.port or 3000
    try:
        config, engine = serving.load(settings)
        if role == "worker" and settings.bot_token is None:  # a worker answers no request: no secret
            raise SettingsError("missing setting(s): SLACK_BOT_TOKEN")
        if role != "worker":
            settings.require_slack()
        options = serving.Options(*where, workers, threads, log_level, role, fmt)
        serving.run(settings, config, engine, options)
    except (SettingsError, ConfigError) as exc:
        raise fail(str(exc)) from None
    except serving.ServeError as exc:
        raise fail(str(exc), exc.code) from None


@app.command()
def sandbox(
    port: Annotated[int, typer.Option(help="port of the local page")] = 8800,
    data: Annotated[
        Path | None, typer.Option(help="your own CSV, JSONL or Parquet file instead of the sample tickets")
    ] = None,
    accuracy: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="how often the simulated annotators give the known answer")
    ] = 0.8,
    delay: Annotated[
        float, typer.Option(min=0.0, help="seconds before a simulated annotator answers a new item")
    ] = 3.0,
) -> None:
    """Try labelbot without Slack: the real bot against a local Slack emulator, shown on a local page."""
    from bot.sandbox import runner

    runner.setup_logging()
    try:
        running = runner.Sandbox(runner.Options(port=port, data=data, accuracy=accuracy, delay=delay)).start()
    except runner.SandboxError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"labelbot sandbox: open {running.url}  (Ctrl-C to stop; everything is removed on exit)")
    try:
        runner.wait_for_stop()
    finally:
        running.stop()


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
