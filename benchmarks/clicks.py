"""Benchmark: label clicks per second and ack latency of `labelbot serve`, against a bare Bolt app.

Starts the real ``labelbot serve`` (HTTP mode) against the Slack emulator and drives it with
C concurrent simulated annotators (asyncio + httpx, one keep-alive connection each) sending
signed block_actions label clicks back to back. Measures clicks/s and p50/p99 latency
(request sent -> ack received) after a warm-up. In the same run it measures a bare Bolt app
that only acks (``--serve-bare``: same ``bot.slack.transport.http_app`` wrapper, same uvicorn, same
``process_before_response=True``, same request bodies and signing) and prints the ratio.
Every (clients, app) pair is repeated and medians are reported, since the load generator,
the emulator and the server share the machine's cores; bot and bare alternate order. Next to
the timings it reports CPU milliseconds per click of the server and of the load generator, and
how many cores other processes on the machine kept busy meanwhile (from /proc).

Setup: ``labelbot import`` of N items, which are then marked open directly in the database
with messages that the emulator really holds (posted through its chat.postMessage handler), so
the dispatcher has nothing to post. ``annotators: []`` lets anyone label; 50 labels per item
and agreement 0.5 keep items open. Each client is a distinct user cycling over the items
and alternating labels, so every click is a real write (a new label or a change). Each click
carries a fresh response_url issued by the emulator, so the bot's ephemeral confirmation
(its lazy listener, after the ack) is real work too; trigger_ids are made up in Slack's shape
(a label click opens no modal).

``--during-retrain`` (target: retraining on 50,000 resolved labels within 30 s, and p99 < 150 ms
during a retrain) first seeds the project with 50,000 items resolved by consensus (~30-word
texts from three label-specific vocabularies, ``make_synthetic``; Core executemany) and trains
a first version before the bot starts, so that the bot's own TrainingLauncher finds no retrain
due. It then adds a ``bot-retrain`` contender, interleaved with the others: the same bot while
``labelbot model bench --train`` runs in a subprocess (models in the work directory), started
just before the warm-up and relaunched if it ends before the measured window does; each
training process is waited for before the next run, and its duration recorded. The window
covers the first seconds of a training process (start-up, reading the labels, the start of
fitting), not its end (loading the new model, scoring); raise ``--duration`` to cover a whole one. ``model.auto_accept`` stays unset and
``annotators_per_item`` fixed, so the clicked items stay open while the model scores them; this
is checked at the end. It also reports which measured windows the bot's own once-a-minute
TrainingLauncher.check overlapped.

Checks: every response is 200; the number of ``label``/``change`` rows in ``item_events``
equals the number of acks; every ack got its ephemeral confirmation; and a sequential spot
check reads each acked label from the database right after its ack.

The load generator and the emulator are the instrument: for each measured window their garbage
collectors are paused (after a collection and a freeze), and the load generator's own event-loop
stall is reported ("load gen stalled"): with collection on, its full passes stopped it for
115-190 ms every few seconds, which timed every request then in flight that much slower.

The emulator runs in a child process of this one (``--serve-emulator``), driven over
stdin/stdout, so that its Block Kit validation of each confirmation does not take the load
generator's GIL.

    .venv/bin/python benchmarks/clicks.py [--clients 8,32] [--repeats 3] [--duration 5]
        [--warmup 1] [--items 2000] [--database-url URL] [--workers 1,2]
        [--variant NAME=PREFIX] [--compare-default-runner]

``--workers 1,2`` measures ``labelbot serve --workers N`` for each N in the same run (on one
database, with one clicker, so every click still writes; more than one process needs PostgreSQL);
the server's CPU counts every process of the contender (``/proc``, the process tree). ``--variant
NAME=PREFIX`` adds a labelbot run under a command prefix (e.g. another checkout on PYTHONPATH), for
before/after in one run. On PostgreSQL (local server) the CPU of the database's backends serving
the benchmark's database is reported per click too ("database").

``--compare-default-runner`` also measures the bare app under Bolt's default listener runner
(``process_before_response=False``, which polls for the ack); ``--bot-prefix`` runs the bot
under another command (a profiler). Exits 1 if an ack was not committed or a request failed.

Targets (2-core machine): p99 < 100 ms at 32 clients, and bot >= 0.5 x bare throughput (0.45 on
PostgreSQL, whose server shares the cores).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import math
import os
import random
import re
import secrets
import shlex
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.slack.emulator import payloads  # noqa: E402
from bot.slack.emulator.signing import signed_headers  # noqa: E402

try:
    import sniffio  # noqa: F401
except ImportError:
    # Without sniffio (anyio >= 4.11 dropped it), httpcore retries ``import sniffio`` several
    # times per request, each a failed search of sys.path: ~0.6 ms of load-generator CPU per
    # click here (encode/httpcore#1103). A None entry makes the import fail at once.
    sys.modules["sniffio"] = None  # type: ignore[assignment]

PROJECT = "bench"
CHANNEL = "C0BENCH"
LABELS = ["billing", "bug", "other"]
CTX = payloads.AppContext()
FORM = "application/x-www-form-urlencoded"
LABELBOT = str(Path(sys.executable).with_name("labelbot"))
CLK_TCK = os.sysconf("SC_CLK_TCK")
P99_TARGET_MS = 100.0
RATIO_TARGET = 0.5
RATIO_TARGET_POSTGRESQL = 0.45


def bench_users(n: int) -> list[str]:
    return [f"U0BENCH{i:03d}" for i in range(n)]


def database_url(url: str | None, work: Path) -> str:
    """The URL the bot gets, and this process reads: SQLite paths made absolute (the bot runs in ``work``)."""
    from sqlalchemy.engine import make_url

    if not url:
        return f"sqlite:///{work / 'bench.db'}"
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        parsed = parsed.set(database=str(Path(parsed.database).resolve()))
    return parsed.render_as_string(hide_password=False)


def reader_engine(url: str) -> Any:
    """A plain engine for setup and checks (no ``BEGIN IMMEDIATE``), with the bot's driver choice."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return create_engine(parsed)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- child processes ---------------------------------------------------------------------------
def serve_bare(port: int, runner: str) -> None:
    """The baseline: a Bolt app whose only listener acks label clicks, served like ``labelbot serve``."""
    import logging

    import uvicorn
    from slack_bolt import App
    from slack_sdk import WebClient

    from bot.slack.listeners.labels import is_click
    from bot.slack.transport import http_app

    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # The emulator's client so that Bolt's auth.test (at start, as for the bot) reaches it.
    client = WebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"])
    app = App(
        client=client,
        signing_secret=os.environ["SLACK_SIGNING_SECRET"],
        process_before_response=runner == "process_before_response",
        request_verification_enabled=False,  # as for the bot: the transport checks signatures
        logger=logging.getLogger("bare.bolt"),
    )
    app.action(re.compile("^label:"))(lambda ack: ack())
    uvicorn.run(
        # As `labelbot serve` on SQLite: clicks on the event loop, the rest in threads.
        http_app(
            app,
            lambda: {"ok": True, "mode": "http"},
            signing_secret=os.environ["SLACK_SIGNING_SECRET"],
            inline=is_click,
        ),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=5,
    )


def gc_paused(pause: bool) -> None:
    """Pause (or resume) this process's garbage collector, for the load generator and the emulator.

    They are the instrument, not the system under test: with GC on, the load generator's full
    collections (its heap holds every item message) stopped its event loop for 115-190 ms every
    few seconds, and all 32 requests in flight were timed that much slower although the server
    had answered them; the emulator's (it keeps every confirmation) took 200-400 ms of a core.
    Before the window: collect, then freeze what survives, so nothing is left to find later.
    """
    if pause:
        gc.collect()
        gc.freeze()
        gc.disable()
    else:
        gc.enable()


def serve_emulator(n_users: int) -> None:
    """The Slack emulator (rate limits off), driven by JSON lines on stdin; answers on stdout."""
    from bot.slack.emulator import SlackEmulator

    emu = SlackEmulator(rate_limits="off")
    emu.start()
    users = bench_users(n_users)
    for user in users:
        emu.add_user(user, user.lower())
    emu.add_channel(CHANNEL, "bench", members=users)

    def reply(obj: Any) -> None:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    reply({"api_url": emu.api_url, "bot_token": emu.bot_token, "signing_secret": emu.signing_secret})
    for line in sys.stdin:
        req = json.loads(line)
        op = req["op"]
        if op == "post":  # item messages, through the real chat.postMessage handler
            out = []
            for m in req["messages"]:
                params = {
                    "channel": CHANNEL,
                    "text": m["text"],
                    "blocks": json.dumps(m["blocks"]),
                    "metadata": json.dumps(m["metadata"]),
                }
                status, body, _ = emu._dispatch("chat.postMessage", params, emu.bot_token)
                if status != 200 or not body.get("ok"):
                    raise SystemExit(f"chat.postMessage failed: {status} {body}")
                message = body["message"]
                message.pop("metadata", None)
                out.append({"ts": body["ts"], "message": message})
            reply(out)
        elif op == "issue":  # one response_url per click, for that user and message
            with emu._lock:
                urls = [
                    emu._issue_response_url(
                        "actions", channel=CHANNEL, user=u, message_ts=ts, is_ephemeral=False, thread_ts=None
                    )
                    for u, ts in req["clicks"]
                ]
            reply(urls)
        elif op == "gc":  # the instrument's own collector, paused for a measured window
            gc_paused(req["pause"])
            reply({"paused": req["pause"]})
        elif op == "stats":
            with emu._lock:
                responses = Counter(str(e.get("status")) for e in emu.responses)
                calls = Counter(f"{c.method}:{'ok' if c.ok else c.error}" for c in emu.calls)
                ephemerals = len(emu._ephemerals)
            reply({"responses": dict(responses), "calls": dict(calls), "ephemerals": ephemerals})
        elif op == "quit":
            break
    emu.stop()


class Emulator:
    """The emulator child process and its line protocol."""

    def __init__(self, n_users: int, log_path: Path) -> None:
        self.log = log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve-emulator", str(n_users)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            cwd=ROOT,
        )
        hello = self._read()
        self.api_url: str = hello["api_url"]
        self.bot_token: str = hello["bot_token"]
        self.signing_secret: str = hello["signing_secret"]

    def _read(self) -> Any:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"the emulator exited ({self.proc.poll()}); see {self.log.name}")
        return json.loads(line)

    def call(self, op: str, **kwargs: Any) -> Any:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"op": op, **kwargs}) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(BrokenPipeError, SystemExit):
                self.call("quit")
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


class Server:
    """``labelbot serve`` or the bare app, in a subprocess, until /healthz answers."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], cwd: Path, port: int) -> None:
        self.name, self.port = name, port
        self.url = f"http://127.0.0.1:{port}/slack/events"
        self.log_path = cwd / f"{name}.log"
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"{name} exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise SystemExit(f"{name} did not become healthy:\n{self.log_tail()}")

    def log_tail(self, n: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])

    def log_problems(self) -> list[str]:
        return [
            line
            for line in self.log_path.read_text(errors="replace").splitlines()
            if (" ERROR " in line or " WARNING " in line or "Traceback" in line)
            and "`token` will be unused" not in line  # Bolt: SLACK_BOT_TOKEN is set and a client given
        ]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def tree_cpu_seconds(pid: int) -> float:
    """CPU time of a process and every live descendant: ``serve --workers N`` answers in children."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += cpu_seconds(current)
        todo += parents.get(current, [])
    return total


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    parts = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = parts[3] + parts[4]
    return (sum(parts[:8]) - idle) / CLK_TCK, sum(parts[:8]) / CLK_TCK


# -- setup -----------------------------------------------------------------------------------------
@dataclass
class ItemMsg:
    """An open item as its message shows it in the channel."""

    id: int
    ts: str
    block_id: str
    buttons: dict[str, dict[str, Any]]
    message: dict[str, Any]


def write_config(path: Path) -> None:
    path.write_text(
        yaml.safe_dump(
            {
                "projects": [
                    {
                        "key": PROJECT,
                        "name": "Click benchmark",
                        "channel": CHANNEL,
                        "labels": [{"value": v, "text": v.title()} for v in LABELS],
                        "annotators": [],
                        "annotators_per_item": 50,
                        "agreement": 0.5,
                        "max_open": 1000,
                        "experts": {"admins": ["U0ADMIN"]},
                    }
                ]
            },
            sort_keys=False,
        )
    )


def prepare_items(n: int, work: Path, env: dict[str, str], emulator: Emulator) -> list[ItemMsg]:
    """Import ``n`` items with the CLI, open them in the database with real emulator messages."""
    from sqlalchemy import select, update
    from sqlalchemy.orm import Session

    from bot.cards import card_for
    from bot.config import load_config
    from bot.slack.blocks.item import item_message
    from bot.slack.posting.items import ITEM_EVENT_TYPE
    from storage.models import Item, ItemStatus, Project, utcnow

    rng = random.Random(0)
    words = ["refund", "invoice", "crash", "login", "slow", "billing", "error", "payment", "app", "card"]
    csv = work / "items.csv"
    with csv.open("w") as f:
        f.write("id,text\n")
        for i in range(n):
            f.write(f"click-{i},{' '.join(rng.choices(words, k=30))}\n")
    result = subprocess.run(
        [LABELBOT, "import", PROJECT, str(csv)], env=env, cwd=work, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise SystemExit(f"labelbot import failed:\n{result.stdout}\n{result.stderr}")
    project = load_config(env["LABELBOT_CONFIG"]).project(PROJECT)
    engine = reader_engine(env["DATABASE_URL"])
    with Session(engine) as session, session.begin():
        pid = session.scalar(select(Project.id).where(Project.key == PROJECT))
        externals = [f"click-{i}" for i in range(n)]
        items = session.scalars(
            select(Item).where(Item.project_id == pid, Item.external_id.in_(externals)).order_by(Item.id)
        ).all()
        for item in items:
            item.status, item.channel, item.posted_at = ItemStatus.OPEN, CHANNEL, utcnow()
            item.message_dirty = False
        session.flush()
        rendered = []
        for item in items:
            message = item_message(card_for(session, item, project), project)
            message["metadata"] = {
                "event_type": ITEM_EVENT_TYPE,
                "event_payload": {"item_id": item.id, "round": item.round, "project": PROJECT},
            }
            rendered.append(message)
        posted = emulator.call("post", messages=rendered)
        ids = [item.id for item in items]
        for item, p in zip(items, posted, strict=True):
            session.execute(
                update(Item)
                .where(Item.id == item.id)
                .values(message_ts=p["ts"])
                .execution_options(synchronize_session=False)
            )
    engine.dispose()
    out = []
    for item_id, p in zip(ids, posted, strict=True):
        block = next(b for b in p["message"]["blocks"] if str(b.get("block_id", "")).startswith("labels:"))
        buttons = {e["action_id"][len("label:") :]: e for e in block["elements"]}
        out.append(ItemMsg(item_id, p["ts"], block["block_id"], buttons, p["message"]))
    return out


# -- --during-retrain --------------------------------------------------------------------------------
RETRAIN_LABELS = 50_000
RETRAIN_P99_TARGET_MS = 150.0
RETRAIN_SECONDS_TARGET = 30.0


def seed_resolved(n: int, env: dict[str, str]) -> None:
    """Insert ``n`` items resolved by consensus (``final_label`` set) with Core executemany.

    Texts are ~30 words (20-40) from three label-specific vocabularies with a shared
    Zipfian background (``make_synthetic``), labelled with the project's labels.
    """
    from sqlalchemy import func, insert, select

    from bot.importer import content_hash
    from bot.learning.corpora import make_synthetic
    from storage.models import Item, ItemStatus, Project, Resolution, utcnow

    data = make_synthetic(n, n_classes=len(LABELS), seed=1)
    to_label = {f"topic_{i}": value for i, value in enumerate(LABELS)}
    engine = reader_engine(env["DATABASE_URL"])
    now = utcnow()
    with engine.begin() as conn:
        pid = conn.scalar(select(Project.id).where(Project.key == PROJECT))
        seq = int(conn.scalar(select(func.max(Item.import_seq)).where(Item.project_id == pid)) or 0)
        rows = [
            {
                "project_id": pid,
                "external_id": f"resolved-{i}",
                "text": text,
                "meta": {},
                "gold_label": None,
                "content_hash": content_hash(text, {}, None),
                "import_seq": seq + 1 + i,
                "status": ItemStatus.RESOLVED,
                "resolution": Resolution.CONSENSUS,
                "final_label": to_label[label],
                "agreement": 1.0,
                "round": 1,
                "message_dirty": False,
                "revision": 0,
                "priority": 0.0,
                "resolved_at": now,
                "created_at": now,
                "updated_at": now,
            }
            for i, (text, label) in enumerate(zip(data["text"], data["label"], strict=True))
        ]
        for start in range(0, len(rows), 10_000):
            conn.execute(insert(Item.__table__), rows[start : start + 10_000])
    engine.dispose()


def item_states(engine: Any, item_ids: list[int]) -> dict[str, int]:
    """How the clicked items and the project's items stand: nothing may have resolved them."""
    from sqlalchemy import func, select

    from storage.models import Item, Project

    with engine.connect() as conn:
        clicked = dict(
            conn.execute(
                select(Item.status, func.count()).where(Item.id.in_(item_ids)).group_by(Item.status)
            ).all()
        )
        scored = conn.scalar(
            select(func.count()).where(Item.id.in_(item_ids), Item.model_version.is_not(None))
        )
        state = func.coalesce(Item.resolution, Item.status)
        project = dict(
            conn.execute(
                select(state, func.count())
                .join(Project, Project.id == Item.project_id)
                .where(Project.key == PROJECT)
                .group_by(state)
            ).all()
        )
    return {
        "clicked_open": int(clicked.get("open", 0)),
        "clicked_not_open": int(sum(v for k, v in clicked.items() if k != "open")),
        "clicked_scored": int(scored or 0),
        **{f"project_{k}": int(v) for k, v in sorted(project.items())},
    }


@dataclass
class TrainingRun:
    """One ``labelbot model PROJECT --train`` process."""

    started: float  # perf_counter
    wall_s: float  # process start to exit: interpreter, imports, training, saving, scoring
    returncode: int
    train_s: float | None  # what train_project reported (reading labels, holdout fit, final fit, save)
    score_s: float | None  # scoring the unresolved items afterwards
    n_labels: int | None
    output: str


def parse_training(output: str) -> tuple[float | None, float | None, int | None]:
    trained = re.search(r"trained v\d+ on (\d+) labels in ([\d.]+)s", output)
    scored = re.search(r"scored \d+ item\(s\) with \S+ in ([\d.]+)s", output)
    return (
        float(trained.group(2)) if trained else None,
        float(scored.group(1)) if scored else None,
        int(trained.group(1)) if trained else None,
    )


class Retrainer:
    """Runs ``labelbot model PROJECT --train`` in a subprocess, relaunched until a deadline."""

    def __init__(self, env: dict[str, str], work: Path) -> None:
        self.env = {**env, "LABELBOT_MODELS_DIR": str(work / "models")}
        self.work = work
        self.runs: list[TrainingRun] = []
        self._stop_relaunching = threading.Event()
        self._thread: threading.Thread | None = None
        self._proc: subprocess.Popen[str] | None = None

    def run(self) -> TrainingRun:
        """One training process, to completion."""
        started = time.perf_counter()
        self._proc = proc = subprocess.Popen(
            [LABELBOT, "model", PROJECT, "--train"],
            env=self.env,
            cwd=self.work,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        output, _ = proc.communicate()
        wall = time.perf_counter() - started
        train_s, score_s, n_labels = parse_training(output)
        with (self.work / "retrain.log").open("a") as log:
            log.write(f"--- exit {proc.returncode} after {wall:.2f} s\n{output}\n")
        run = TrainingRun(started, round(wall, 2), proc.returncode, train_s, score_s, n_labels, output)
        self.runs.append(run)
        return run

    def start(self, until: float) -> None:
        """Train in a background thread, relaunching any run that ends before ``until`` (perf_counter)."""
        self._stop_relaunching.clear()

        def loop() -> None:
            while True:
                self.run()
                if self._stop_relaunching.is_set() or time.perf_counter() >= until:
                    return

        self._thread = threading.Thread(target=loop, name="retrain", daemon=True)
        self._thread.start()

    def finish(self) -> None:
        """No more relaunches; wait for the training in progress to end."""
        self._stop_relaunching.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def abort(self) -> None:
        """On the way out after an error: end the training in progress."""
        self._stop_relaunching.set()
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
        if self._thread is not None:
            self._thread.join(30)


LOG_TIME = re.compile(
    r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) INFO apscheduler\S*: (Running job|Job) \"TrainingLauncher\.check"
)


def launcher_checks(log_path: Path) -> list[tuple[float, float]]:
    """When the bot's own TrainingLauncher.check ran (wall-clock start, end), from its log.

    The check runs in the bot's process every minute and counts the project's training
    labels by loading them all (``retrain_due`` -> ``training_data``).
    """
    from datetime import datetime

    checks: list[tuple[float, float]] = []
    start: float | None = None
    for line in log_path.read_text(errors="replace").splitlines():
        m = LOG_TIME.match(line)
        if not m:
            continue
        at = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()  # local time, as logged
        if m.group(2) == "Running job":
            start = at
        elif start is not None:
            checks.append((start, at))
            start = None
    return checks


# -- load ---------------------------------------------------------------------------------------
@dataclass
class Clicker:
    """What each simulated annotator clicks next: the items in turn (each user from its own
    offset), always a label different from the user's current one, so every click writes."""

    items: list[ItemMsg]
    users: list[str]
    last: dict[tuple[str, int], str] = field(default_factory=dict)
    step: dict[str, int] = field(default_factory=dict)
    urls: dict[str, list[str]] = field(default_factory=dict)
    first_step: dict[str, int] = field(default_factory=dict)
    url_reuses: int = 0

    def item_at(self, user: str, step: int) -> ItemMsg:
        offset = self.users.index(user) * len(self.items) // len(self.users)
        return self.items[(offset + step) % len(self.items)]

    def plan(self, users: list[str], per_user: int) -> list[tuple[str, str]]:
        """The (user, message ts) of the next ``per_user`` clicks of each user, for response URLs."""
        clicks = []
        for user in users:
            start = self.step.setdefault(user, 0)
            self.first_step[user] = start
            clicks += [(user, self.item_at(user, start + k).ts) for k in range(per_user)]
        return clicks

    def next_body(self, user: str) -> bytes:
        step = self.step[user]
        self.step[user] = step + 1
        item = self.item_at(user, step)
        current = self.last.get((user, item.id))
        label = LABELS[(LABELS.index(current) + 1) % len(LABELS)] if current else LABELS[step % len(LABELS)]
        self.last[(user, item.id)] = label
        urls = self.urls[user]
        k = step - self.first_step[user]
        if k >= len(urls):
            self.url_reuses += 1  # the emulator accepts 5 uses of a response_url
        action = payloads.action(item.buttons[label], item.block_id, f"{time.time():.6f}")
        trigger = f"{int(time.time() * 1000)}.{random.randint(10**9, 10**10 - 1)}.{secrets.token_hex(16)}"
        payload = payloads.block_actions(
            CTX,
            user_id=user,
            user_name=user.lower(),
            actions=[action],
            trigger_id=trigger,
            container={
                "type": "message",
                "message_ts": item.ts,
                "channel_id": CHANNEL,
                "is_ephemeral": False,
            },
            channel={"id": CHANNEL, "name": "bench"},
            message=item.message,
            state_values={},
            response_url=urls[k % len(urls)],
        )
        return urlencode({"payload": payloads.dumps(payload)}).encode()


@dataclass
class RunResult:
    app: str
    clients: int
    repeat: int
    clicks_per_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    measured: int
    sent: int
    ok: int
    errors: dict[str, int]
    server_cpu_ms_per_click: float
    emulator_cpu_ms_per_click: float
    loadgen_cpu_ms_per_click: float
    machine_busy_cores: float
    other_busy_cores: float
    loadgen_stall_max_ms: float
    drain_s: float = 0.0
    db_cpu_ms_per_click: float | None = None  # PostgreSQL: its backends serving the benchmark's database


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values), max(1, math.ceil(q * len(sorted_values)))) - 1  # nearest rank
    return sorted_values[index]


async def drive(url: str, secret: str, clicker: Clicker, users: list[str], warmup: float, duration: float):
    """Each user sends clicks back to back over its own keep-alive connection."""
    samples: list[tuple[float, float, int]] = []
    errors: Counter[str] = Counter()
    # Clients are made before the clock starts: each AsyncClient otherwise builds its own TLS
    # context (~60 ms of blocked event loop apiece, though these URLs are plain HTTP).
    tls = ssl.create_default_context()
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    clients = {u: httpx.AsyncClient(limits=limits, timeout=30.0, verify=tls) for u in users}
    begin = time.perf_counter()
    measure_from, stop_at = begin + warmup, begin + warmup + duration
    stalls: list[float] = []  # the load generator's own event-loop delays in the window, ms

    async def probe() -> None:
        """Sleeps 5 ms at a time; any delay past that is time this process could not read acks."""
        while time.perf_counter() < stop_at:
            t = time.perf_counter()
            await asyncio.sleep(0.005)
            if t >= measure_from:
                stalls.append((time.perf_counter() - t - 0.005) * 1000)

    async def one(user: str) -> None:
        client = clients[user]
        while time.perf_counter() < stop_at:
            body = clicker.next_body(user)
            headers = {"Content-Type": FORM, **signed_headers(secret, body)}
            t0 = time.perf_counter()
            try:
                response = await client.post(url, content=body, headers=headers)
                status = response.status_code
                if status != 200:
                    errors[f"HTTP {status}: {response.text[:80]}"] += 1
            except httpx.HTTPError as exc:
                status = 0
                errors[f"{type(exc).__name__}: {exc}"[:100]] += 1
            samples.append((t0, time.perf_counter(), status))

    try:
        await asyncio.gather(probe(), *(one(u) for u in users))
    finally:
        await asyncio.gather(*(c.aclose() for c in clients.values()))
    return samples, errors, measure_from, stop_at, max(stalls, default=0.0)


def run_once(
    app: str,
    server: Server,
    clicker: Clicker,
    n_clients: int,
    repeat: int,
    args: argparse.Namespace,
    emulator: Emulator,
    retrainer: Retrainer | None = None,
    windows: list[tuple[float, float]] | None = None,
    db_engine: Any = None,
) -> RunResult:
    """One measurement; with a ``retrainer``, a training process runs from just before the
    warm-up until the measured window ends (relaunched if it ends sooner), and is then waited for."""
    users = clicker.users[:n_clients]
    per_user = max(100, int(args.max_rate * (args.warmup + args.duration) / n_clients) + 1)
    clicks = clicker.plan(users, per_user)
    urls = emulator.call("issue", clicks=clicks)
    for i, user in enumerate(users):
        clicker.urls[user] = urls[i * per_user : (i + 1) * per_user]
    # Before the CPU snapshots and the retrain's start: the collections are not the window's.
    emulator.call("gc", pause=True)
    gc_paused(True)
    try:
        pids = {"server": server.proc.pid, "emulator": emulator.proc.pid}
        cpu0 = {k: tree_cpu_seconds(p) for k, p in pids.items()}
        backends0 = backend_cpu(db_engine)
        self0 = sum(os.times()[:2])
        busy0, total0 = machine_busy()
        if retrainer is not None:
            retrainer.start(until=time.perf_counter() + args.warmup + args.duration)
        samples, errors, measure_from, stop_at, stall_ms = asyncio.run(
            drive(server.url, emulator.signing_secret, clicker, users, args.warmup, args.duration)
        )
        busy1, total1 = machine_busy()
        self1 = sum(os.times()[:2])
        cpu1 = {k: tree_cpu_seconds(p) for k, p in pids.items()}
        backends1 = backend_cpu(db_engine)
    finally:
        gc_paused(False)
        emulator.call("gc", pause=False)
    if retrainer is not None:
        retrainer.finish()
    if windows is not None:  # the measured window in wall-clock seconds, to compare with log times
        offset = time.time() - time.perf_counter()
        windows.append((measure_from + offset, stop_at + offset))
    window = sorted((t1 - t0) * 1000 for t0, t1, _ in samples if measure_from <= t1 < stop_at)
    sent = len(samples)
    wall = (total1 - total0) / (os.cpu_count() or 1)  # seconds, from the machine's own clock
    ours = (cpu1["server"] - cpu0["server"]) + (cpu1["emulator"] - cpu0["emulator"]) + (self1 - self0)
    busy_cores = (busy1 - busy0) / wall if wall > 0 else float("nan")
    return RunResult(
        app=app,
        clients=n_clients,
        repeat=repeat,
        clicks_per_s=round(len(window) / args.duration, 1),
        p50_ms=round(percentile(window, 0.50), 2),
        p99_ms=round(percentile(window, 0.99), 2),
        max_ms=round(window[-1], 2) if window else float("nan"),
        measured=len(window),
        sent=sent,
        ok=sum(1 for *_, s in samples if s == 200),
        errors=dict(errors),
        server_cpu_ms_per_click=round((cpu1["server"] - cpu0["server"]) * 1000 / max(1, sent), 3),
        emulator_cpu_ms_per_click=round((cpu1["emulator"] - cpu0["emulator"]) * 1000 / max(1, sent), 3),
        loadgen_cpu_ms_per_click=round((self1 - self0) * 1000 / max(1, sent), 3),
        machine_busy_cores=round(busy_cores, 2),
        other_busy_cores=round(max(0.0, busy_cores - ours / wall), 2) if wall > 0 else float("nan"),
        loadgen_stall_max_ms=round(stall_ms, 1),
        db_cpu_ms_per_click=None
        if backends0 is None or backends1 is None
        else round(
            sum(cpu - backends0.get(pid, 0.0) for pid, cpu in backends1.items()) * 1000 / max(1, sent), 3
        ),
    )


def backend_cpu(engine: Any) -> dict[int, float] | None:
    """CPU seconds of each PostgreSQL backend connected to the benchmark's database (the server is
    local, so its processes are in /proc); None on SQLite, or when they cannot be read."""
    if engine is None or engine.dialect.name != "postgresql":
        return None
    from sqlalchemy import text

    with engine.connect() as conn:
        pids = conn.execute(
            text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalars()
        found = {int(pid): cpu_seconds(int(pid)) for pid in pids}
    return found if all(Path(f"/proc/{pid}").exists() for pid in found) else None


# -- checks --------------------------------------------------------------------------------------
def label_events(engine: Any) -> int:
    from sqlalchemy import text

    with engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM item_events e JOIN projects p ON p.id = e.project_id "
                    "WHERE p.key = :key AND e.action IN ('label', 'change')"
                ),
                {"key": PROJECT},
            ).scalar_one()
        )


def existing_labels(engine: Any) -> dict[tuple[str, int], str]:
    from sqlalchemy import text

    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT l.user_id, l.item_id, l.value FROM labels l JOIN items i ON i.id = l.item_id "
                "JOIN projects p ON p.id = i.project_id WHERE p.key = :key"
            ),
            {"key": PROJECT},
        ).all()
    return {(u, int(i)): v for u, i, v in rows}


def wait_confirmations(emulator: Emulator, expected: int, timeout: float = 60.0) -> tuple[int, float]:
    """Wait until the emulator has served ``expected`` response_url posts; (served OK, seconds waited)."""
    start = time.monotonic()
    while True:
        stats = emulator.call("stats")
        served = sum(stats["responses"].values())
        if served >= expected or time.monotonic() - start > timeout:
            return int(stats["responses"].get("200", 0)), time.monotonic() - start
        time.sleep(0.05)


def spot_check(
    server: Server, secret: str, clicker: Clicker, engine: Any, emulator: Emulator, n: int
) -> tuple[int, int]:
    """Sequential clicks, each read back from the database right after its ack: (acks, labels found)."""
    from sqlalchemy import text

    user = clicker.users[0]
    clicker.urls[user] = emulator.call("issue", clicks=clicker.plan([user], n))
    query = text(
        "SELECT label FROM item_events WHERE item_id = :item AND actor = :user "
        "AND action IN ('label', 'change') ORDER BY id DESC LIMIT 1"
    )
    acks = seen = 0
    with httpx.Client(timeout=30.0) as client:
        for _ in range(n):
            item = clicker.item_at(user, clicker.step[user])
            body = clicker.next_body(user)
            label = clicker.last[(user, item.id)]
            response = client.post(
                server.url, content=body, headers={"Content-Type": FORM, **signed_headers(secret, body)}
            )
            with engine.connect() as conn:
                found = conn.execute(query, {"item": item.id, "user": user}).scalar()
            acks += int(response.status_code == 200)
            seen += int(response.status_code == 200 and found == label)
    return acks, seen


# -- report -----------------------------------------------------------------------------------------
def median(values: list[float]) -> float:
    return round(statistics.median(values), 2)


def summarize(results: list[RunResult], clients: list[int], apps: list[str]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for c in clients:
        row: dict[str, Any] = {}
        for app in apps:
            runs = [r for r in results if r.clients == c and r.app == app]
            row[app] = {
                "clicks_per_s": median([r.clicks_per_s for r in runs]),
                "p50_ms": median([r.p50_ms for r in runs]),
                "p99_ms": median([r.p99_ms for r in runs]),
                "server_cpu_ms_per_click": median([r.server_cpu_ms_per_click for r in runs]),
                "db_cpu_ms_per_click": median(
                    [r.db_cpu_ms_per_click for r in runs if r.db_cpu_ms_per_click is not None]
                )
                if any(r.db_cpu_ms_per_click is not None for r in runs)
                else None,
                "emulator_cpu_ms_per_click": median([r.emulator_cpu_ms_per_click for r in runs]),
                "loadgen_cpu_ms_per_click": median([r.loadgen_cpu_ms_per_click for r in runs]),
                "other_busy_cores": median([r.other_busy_cores for r in runs]),
            }
        for app in apps:
            if app == "bare":
                continue
            ratios = []  # throughput of ``app`` over the bare app's in the same repeat
            for rep in sorted({r.repeat for r in results}):
                mine = [r.clicks_per_s for r in results if (r.clients, r.app, r.repeat) == (c, app, rep)]
                bare = [r.clicks_per_s for r in results if (r.clients, r.app, r.repeat) == (c, "bare", rep)]
                if mine and bare and bare[0] > 0:
                    ratios.append(round(mine[0] / bare[0], 3))
            prefix = "" if app == "bot" else f"{app}_"
            row[f"{prefix}ratio_per_repeat"] = ratios
            row[f"{prefix}ratio_median"] = round(statistics.median(ratios), 3) if ratios else None
        summary[str(c)] = row
    return summary


def retrain_report(
    summary: dict[str, Any],
    clients: list[int],
    trainings: list[dict[str, Any]],
    initial: TrainingRun,
    states: dict[str, int],
    n_items: int,
    windows: dict[tuple[str, int, int], list[tuple[float, float]]],
    checks: list[tuple[float, float]],
) -> dict[str, Any]:
    """Print and return the --during-retrain comparison: the bot with and without a retrain running."""
    print(
        f"\nduring retrain (labelbot model {PROJECT} --train on {RETRAIN_LABELS:,} resolved labels), medians:"
    )
    print(
        f"{'clients':>7}  {'clicks/s':>9} {'p50 ms':>7} {'p99 ms':>7}  |  {'retrain: clicks/s':>17} "
        f"{'p50 ms':>7} {'p99 ms':>7}  |  p99 < {RETRAIN_P99_TARGET_MS:g} ms during retrain"
    )
    table: dict[str, Any] = {}
    for c in clients:
        plain, during = summary[str(c)]["bot"], summary[str(c)]["bot-retrain"]
        ok = during["p99_ms"] < RETRAIN_P99_TARGET_MS
        table[str(c)] = {
            "bot": {k: plain[k] for k in ("clicks_per_s", "p50_ms", "p99_ms")},
            "bot_during_retrain": {k: during[k] for k in ("clicks_per_s", "p50_ms", "p99_ms")},
            "p99_below_target": ok,
        }
        print(
            f"{c:>7}  {plain['clicks_per_s']:>9.1f} {plain['p50_ms']:>7.1f} {plain['p99_ms']:>7.1f}  |  "
            f"{during['clicks_per_s']:>17.1f} {during['p50_ms']:>7.1f} {during['p99_ms']:>7.1f}  |  "
            f"{'met' if ok else 'MISSED'}"
        )
    runs = [r for t in trainings for r in t["runs"]]
    walls = [r["wall_s"] for r in runs]
    trains = [r["train_s"] for r in runs if r["train_s"] is not None]
    scores = [r["score_s"] for r in runs if r["score_s"] is not None]
    trained_ok = bool(runs) and all(r["returncode"] == 0 and r["n_labels"] == RETRAIN_LABELS for r in runs)
    wall_median = median(walls) if walls else float("nan")
    within = sum(1 for w in walls if w <= RETRAIN_SECONDS_TARGET)
    print(
        f"training runs during measurements: {len(runs)}; process wall time median {wall_median} s "
        f"(min {min(walls, default=float('nan'))}, max {max(walls, default=float('nan'))}; "
        f"{within}/{len(walls)} within {RETRAIN_SECONDS_TARGET:g} s), of which train_project median "
        f"{median(trains) if trains else None} s and scoring median {median(scores) if scores else None} s; "
        f"all trained on {RETRAIN_LABELS} labels: {trained_ok}"
    )
    print(
        f"initial training with the bot not running: {initial.wall_s} s (train {initial.train_s} s, "
        f"score {initial.score_s} s)"
    )
    still_open = states.get("clicked_open") == n_items and not states.get("clicked_not_open")
    untouched = states.get("project_consensus") == RETRAIN_LABELS and not states.get("project_model")
    print(
        f"clicked items still open: {states.get('clicked_open')}/{n_items} ({states.get('clicked_scored')} scored "
        f"by the model); project items by resolution/status: "
        + ", ".join(f"{k[len('project_') :]} {v}" for k, v in states.items() if k.startswith("project_"))
        + f" -> {'ok' if still_open and untouched else 'FAILED'}"
    )
    overlapping = [
        f"{app} {c} clients repeat {rep + 1}"
        for (app, c, rep), spans in windows.items()
        if any(a < w1 and w0 < b for w0, w1 in spans for a, b in checks)
    ]
    check_s = [round(b - a, 2) for a, b in checks]
    print(
        f"the bot's own TrainingLauncher.check (every 60 s in its process; loads all training texts to "
        f"count them) ran {len(checks)} times, {median(check_s) if check_s else None} s median "
        f"(max {max(check_s, default=None)}); it overlapped the measured window of: "
        + (", ".join(overlapping) or "none")
    )
    p99_ok = {str(c): table[str(c)]["p99_below_target"] for c in clients}
    seconds_ok = wall_median <= RETRAIN_SECONDS_TARGET
    print(
        f"target p99 < {RETRAIN_P99_TARGET_MS:g} ms during retrain: "
        + ", ".join(f"{c} clients {table[str(c)]['bot_during_retrain']['p99_ms']} ms" for c in clients)
        + f" -> {'met' if all(p99_ok.values()) else 'MISSED'}; target retraining within "
        f"{RETRAIN_SECONDS_TARGET:g} s (process start to exit): median {wall_median} s -> "
        f"{'met' if seconds_ok else 'MISSED'}"
    )
    return {
        "labels": RETRAIN_LABELS,
        "table": table,
        "training_wall_s_median": wall_median,
        "training_train_s_median": median(trains) if trains else None,
        "training_score_s_median": median(scores) if scores else None,
        "training_runs": len(runs),
        "training_within_target": within,
        "trained_ok": trained_ok,
        "initial_training": {k: v for k, v in initial.__dict__.items() if k not in ("output", "started")},
        "per_measurement": trainings,
        "item_states": states,
        "items_ok": still_open and untouched,
        "launcher_check_s": check_s,
        "windows_overlapping_launcher_check": overlapping,
        "targets": {"p99_ms_during_retrain": p99_ok, "training_s": seconds_ok},
    }


def bot_contenders(args: argparse.Namespace) -> list[tuple[str, str, int]]:
    """(name, command prefix, processes) of each labelbot to measure: one per ``--workers`` value
    ("bot", then "bot-wN"), and each ``--variant NAME=PREFIX`` with one process."""
    workers = [int(w) for w in str(args.workers).split(",") if w.strip()]
    if not workers or any(w < 1 for w in workers):
        raise SystemExit("--workers takes process counts of 1 or more, e.g. 1,2")
    found = [("bot" if i == 0 else f"bot-w{w}", args.bot_prefix, w) for i, w in enumerate(workers)]
    for variant in args.variant:
        name, sep, prefix = variant.partition("=")
        if not sep or not name or name in ("bare", "bot") or not name.replace("-", "").isalnum():
            raise SystemExit(
                f"--variant takes NAME=PREFIX, e.g. old='env PYTHONPATH=/path/to/old', not {variant!r}"
            )
        found.append((name, prefix, 1))
    if len({name for name, *_ in found}) != len(found):
        raise SystemExit("--workers and --variant name the same contender twice")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", default="8,32", help="comma-separated numbers of concurrent clients")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5.0, help="measured seconds per run")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds before measuring, per run")
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--max-rate", type=float, default=2000.0, help="clicks/s to issue response URLs for")
    parser.add_argument("--spot-checks", type=int, default=50, help="acked labels read back one by one")
    parser.add_argument(
        "--compare-default-runner",
        action="store_true",
        help="also measure the bare app with Bolt's default listener runner (process_before_response=False)",
    )
    parser.add_argument("--bot-prefix", default="", help="command prefix for the bot, e.g. a profiler")
    parser.add_argument("--bot-args", default="", help="more `labelbot serve` options, e.g. '--threads 2'")
    parser.add_argument(
        "--workers",
        default="1",
        help="comma-separated `serve --workers` counts, each a contender on the same database, e.g. 1,2 "
        "(more than 1 needs PostgreSQL); server CPU counts every process of a contender",
    )
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME=PREFIX",
        help="another labelbot contender, run under a command prefix, e.g. "
        "before='env PYTHONPATH=/tmp/old-checkout' (repeatable): before/after in one run",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, database)")
    parser.add_argument(
        "--during-retrain",
        action="store_true",
        help=f"seed {RETRAIN_LABELS:,} resolved items and also measure the bot while `labelbot model "
        f"{PROJECT} --train` runs (target p99 < {RETRAIN_P99_TARGET_MS:g} ms, training within "
        f"{RETRAIN_SECONDS_TARGET:g} s)",
    )
    parser.add_argument("--serve-bare", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--serve-emulator", type=int, metavar="USERS", help=argparse.SUPPRESS)
    parser.add_argument("--bare-runner", default="process_before_response", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare(args.serve_bare, args.bare_runner)
        return
    if args.serve_emulator:
        serve_emulator(args.serve_emulator)
        return

    clients = [int(c) for c in args.clients.split(",") if c.strip()]
    users = bench_users(max(clients))
    work = Path(tempfile.mkdtemp(prefix="labelbot-clicks-"))
    print(f"work directory: {work}; load average {os.getloadavg()[0]:.2f}; {os.cpu_count()} CPUs", flush=True)
    emulator = Emulator(len(users), work / "emulator.log")
    servers: list[Server] = []
    retrainer: Retrainer | None = None
    initial: TrainingRun | None = None
    try:
        config = work / "labelbot.yml"
        write_config(config)
        env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
        env.update(
            {
                "SLACK_BOT_TOKEN": emulator.bot_token,
                "SLACK_SIGNING_SECRET": emulator.signing_secret,
                "SLACK_API_URL": emulator.api_url,
                "DATABASE_URL": database_url(args.database_url, work),
                "LABELBOT_CONFIG": str(config),
            }
        )
        t = time.perf_counter()
        items = prepare_items(args.items, work, env, emulator)
        print(f"imported and opened {len(items)} items in {time.perf_counter() - t:.1f} s", flush=True)
        if args.during_retrain:
            from bot.config import load_config

            project = load_config(env["LABELBOT_CONFIG"]).project(PROJECT)
            # Nothing may resolve the clicked items: no auto-accept after scoring, no dynamic overlap.
            assert project.model.auto_accept is None and project.annotators_per_item.fixed
            t = time.perf_counter()
            seed_resolved(RETRAIN_LABELS, env)
            print(f"seeded {RETRAIN_LABELS} resolved items in {time.perf_counter() - t:.1f} s", flush=True)
            retrainer = Retrainer(env, work)
            # A first version before the bot starts: otherwise the bot's own TrainingLauncher (its
            # scheduler checks at start, then every minute) would train on the 50,000 labels in the
            # first runs, with or without --during-retrain's. After it, no retrain is due (no new
            # labels), and every run sees the clicked items already scored.
            initial = retrainer.run()
            retrainer.runs.clear()
            if initial.returncode != 0 or initial.train_s is None:
                raise SystemExit(f"initial training failed:\n{initial.output}")
            print(
                f"initial training (bot not running): {initial.wall_s:.1f} s for the process, "
                f"train {initial.train_s:.1f} s + score {initial.score_s} s on {initial.n_labels} labels",
                flush=True,
            )
        engine = reader_engine(env["DATABASE_URL"])
        events_before = label_events(engine)
        bot_clicker = Clicker(items, users, last=existing_labels(engine))

        # Every labelbot contender serves the same database with the same clicker, so each click
        # still writes; "bot" is the first of --workers, without a --variant prefix.
        bots: list[Server] = []
        for name, prefix, workers in bot_contenders(args):
            port = free_port()
            cmd = [*shlex.split(prefix), LABELBOT, "serve", "--port", str(port), *shlex.split(args.bot_args)]
            bots.append(
                Server(name, cmd + (["--workers", str(workers)] if workers > 1 else []), env, work, port)
            )
            servers.append(bots[-1])
        bot = bots[0]
        contenders = [(s.name, s, bot_clicker) for s in bots]
        if retrainer is not None:
            contenders.append(("bot-retrain", bot, bot_clicker))  # the same bot, database and clicker
        runners = ["process_before_response"] + (["default"] if args.compare_default_runner else [])
        for runner in runners:
            name = "bare" if runner == "process_before_response" else f"bare-{runner}"
            port = free_port()
            cmd = [sys.executable, __file__, "--serve-bare", str(port), "--bare-runner", runner]
            servers.append(Server(name, cmd, env, work, port))
            contenders.append((name, servers[-1], Clicker(items, users)))
        apps = [name for name, *_ in contenders]

        results: list[RunResult] = []
        trainings: list[dict[str, Any]] = []  # per bot-retrain measurement
        windows: dict[tuple[str, int, int], list[tuple[float, float]]] = {}  # bot runs, wall clock
        bot_acks = 0
        for rep in range(args.repeats):
            for c in clients:
                shift = rep % len(contenders)  # rotate who goes first
                for app, server, clicker in contenders[shift:] + contenders[:shift]:
                    first_training = len(retrainer.runs) if retrainer is not None else 0
                    result = run_once(
                        app,
                        server,
                        clicker,
                        c,
                        rep,
                        args,
                        emulator,
                        retrainer if app == "bot-retrain" else None,
                        windows.setdefault((app, c, rep), [])
                        if retrainer is not None and server is bot
                        else None,
                        engine,
                    )
                    trained = ""
                    if app == "bot-retrain" and retrainer is not None:
                        runs = retrainer.runs[first_training:]
                        trainings.append(
                            {
                                "clients": c,
                                "repeat": rep,
                                "runs": [
                                    {k: v for k, v in r.__dict__.items() if k not in ("output", "started")}
                                    for r in runs
                                ],
                            }
                        )
                        trained = "  training " + ", ".join(
                            f"{r.wall_s:.1f} s (train {r.train_s} s, score {r.score_s} s, exit {r.returncode})"
                            for r in runs
                        )
                    if server in bots:
                        bot_acks += result.ok
                        _, result.drain_s = wait_confirmations(emulator, bot_acks)
                        result.drain_s = round(result.drain_s, 2)
                    results.append(result)
                    print(
                        f"  repeat {rep + 1} {app:12} {c:3} clients: {result.clicks_per_s:7.1f} clicks/s  "
                        f"p50 {result.p50_ms:6.1f} ms  p99 {result.p99_ms:6.1f} ms  "
                        f"server {result.server_cpu_ms_per_click:.2f} ms CPU/click  "
                        + (
                            f"database {result.db_cpu_ms_per_click:.2f}  "
                            if result.db_cpu_ms_per_click is not None and server in bots
                            else ""
                        )
                        + f"others {result.other_busy_cores:.2f} cores  "
                        f"load gen stalled {result.loadgen_stall_max_ms:.0f} ms max"
                        + (f"  errors {result.errors}" if result.errors else "")
                        + trained,
                        flush=True,
                    )
                    time.sleep(0.5)

        spot_acks, spot = spot_check(
            bot, emulator.signing_secret, bot_clicker, engine, emulator, args.spot_checks
        )
        bot_acks += spot_acks
        confirmations, _ = wait_confirmations(emulator, bot_acks)
        committed = label_events(engine) - events_before
        states = item_states(engine, [i.id for i in items]) if retrainer is not None else {}
        engine.dispose()
        all_ok = all(not r.errors and r.ok == r.sent for r in results)
        problems = {s.name: s.log_problems()[:5] for s in servers}
        checks = launcher_checks(bot.log_path) if retrainer is not None else []
    finally:
        if retrainer is not None:
            retrainer.abort()
        for s in servers:
            s.stop()
        stats = emulator.call("stats") if emulator.proc.poll() is None else {}
        emulator.stop()

    summary = summarize(results, clients, apps)
    print(
        f"\nmedians of {args.repeats} repeats, {args.duration:g} s measured after {args.warmup:g} s warm-up:"
    )
    print(
        f"{'clients':>7}  {'app':12}  {'clicks/s':>9}  {'p50 ms':>7}  {'p99 ms':>7}  "
        f"{'server CPU ms/click':>19}  {'database CPU ms/click':>21}  {'load gen CPU ms/click':>21}  "
        f"{'other load, cores':>17}"
    )
    for c in clients:
        row = summary[str(c)]
        for app in apps:
            m = row[app]
            print(
                f"{c:>7}  {app:12}  {m['clicks_per_s']:>9.1f}  {m['p50_ms']:>7.1f}  {m['p99_ms']:>7.1f}  "
                f"{m['server_cpu_ms_per_click']:>19.2f}  "
                f"{'-' if app == 'bare' or m['db_cpu_ms_per_click'] is None else m['db_cpu_ms_per_click']:>21}  "
                f"{m['loadgen_cpu_ms_per_click']:>21.2f}  "
                f"{m['other_busy_cores']:>17.2f}"
            )
        for app in apps[1:]:
            if app != "bare":
                print(
                    f"{c:>7}  {app}/bare throughput: {row[f'{app}_ratio_median']} "
                    f"(per repeat {row[f'{app}_ratio_per_repeat']})"
                )
        print(f"{c:>7}  bot/bare throughput: {row['ratio_median']} (per repeat {row['ratio_per_repeat']})")
    top = str(max(clients))
    p99_ok = summary[top]["bot"]["p99_ms"] < P99_TARGET_MS
    ratio_target = RATIO_TARGET_POSTGRESQL if env["DATABASE_URL"].startswith("postgres") else RATIO_TARGET
    ratio_ok = all((summary[str(c)]["ratio_median"] or 0) >= ratio_target for c in clients)
    committed_ok = committed == bot_acks and all_ok and confirmations == bot_acks and spot == args.spot_checks
    print(
        f"\ntarget p99 < {P99_TARGET_MS:g} ms at {top} clients: {summary[top]['bot']['p99_ms']} ms -> "
        f"{'met' if p99_ok else 'MISSED'}"
    )
    print(
        f"target bot >= {ratio_target} x bare throughput: "
        + ", ".join(f"{c} clients {summary[str(c)]['ratio_median']}" for c in clients)
        + f" -> {'met' if ratio_ok else 'MISSED'}"
    )
    print(
        f"every ack committed: {bot_acks} acks (all 200: {all_ok}), {committed} label/change rows in item_events, "
        f"{confirmations} ephemeral confirmations, {spot}/{args.spot_checks} read back right after the ack "
        f"-> {'ok' if committed_ok else 'FAILED'}"
    )
    retrain_ok = True
    during_retrain: dict[str, Any] = {}
    if retrainer is not None and initial is not None:
        during_retrain = retrain_report(
            summary, clients, trainings, initial, states, len(items), windows, checks
        )
        retrain_ok = during_retrain["trained_ok"] and during_retrain["items_ok"]
    if any(problems.values()):
        print(f"server log warnings/errors (first 5 each): {json.dumps(problems)}")
    print(
        json.dumps(
            {
                "clients": clients,
                "repeats": args.repeats,
                "duration_s": args.duration,
                "warmup_s": args.warmup,
                "items": args.items,
                "apps": apps,
                "summary": summary,
                "targets": {"p99_ms_at_max_clients": p99_ok, "throughput_ratio": ratio_ok},
                "acks": bot_acks,
                "committed": committed,
                "confirmations": confirmations,
                "spot_checks": [spot, args.spot_checks],
                "all_200": all_ok,
                "response_url_reuses": bot_clicker.url_reuses,
                "emulator": stats,
                "runs": [r.__dict__ for r in results],
                **({"during_retrain": during_retrain} if during_retrain else {}),
            }
        )
    )
    if not args.keep:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    if not committed_ok or not retrain_ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
