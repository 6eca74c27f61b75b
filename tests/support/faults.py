"""Fault scenarios over several labelbot hosts on one PostgreSQL database, with their figures.

Each scenario runs real ``labelbot serve --role web|worker`` processes against the Slack
emulator, injects one kind of fault a number of times, and returns what it counted (kills,
clicks acked, labels stored, double posts, seconds to recover). ``tests/scenarios/test_faults.py``
runs them with a small count and asserts on the counts; ``benchmarks/faults.py`` runs them with
a large one and prints the figures. Every wait is on a condition, bounded by a generous timeout:
the seconds measured are reported, never relied on.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter, deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from bot.slack.emulator import SlackEmulator
from bot.slack.emulator.core import Delivery
from storage.db import make_engine
from tests.app_manifest import BOT_EVENTS, BOT_SCOPES, MESSAGE_SHORTCUTS
from tests.support.hosts import Balancer, Host, wait_until
from tests.support.tcp_proxy import TcpProxy

__all__ = [
    "ACK_DEADLINE",
    "CHANNEL",
    "Cluster",
    "cluster",
    "database_outage",
    "slack_storms",
    "web_kills",
    "worker_kills",
]

CHANNEL = "C0FAULTS"
ADMIN = "U0ADMIN"
EXPERT = "U0EXPERT"
ACK_DEADLINE = 3.0  # Slack's: an interactive request not answered by then fails for the user
WAIT = 90.0  # the bound on any one condition (a restart on a busy 2-core machine takes seconds)
NOT_RECORDED = "not recorded"  # in the notice a click gets when its label could not be stored
DATABASE_NOTICE = "not done"  # in the notice any other request gets meanwhile (bot.slack.outage)
SLACK_METHODS = ["chat.postMessage", "chat.update", "views.open", "views.publish", "views.update"]


def annotators(n: int) -> list[str]:
    return [f"U0F{i:03d}" for i in range(n)]


def emulator(users: Sequence[str]) -> SlackEmulator:
    """Slack as the scenario tests see it: the manifest's scopes and events, the users, the channel."""
    slack = SlackEmulator(bot_scopes=BOT_SCOPES)
    slack.event_subscriptions = set(BOT_EVENTS)
    slack.message_shortcuts = set(MESSAGE_SHORTCUTS)
    slack.start()
    for user in [*users, ADMIN, EXPERT]:
        slack.add_user(user, user.lower())
    slack.add_channel(CHANNEL, "faults", members=[*users, ADMIN, EXPERT, "UBOT"])
    return slack


@dataclass
class Cluster:
    """Web hosts and one worker on one database (through ``proxy`` when given), and Slack."""

    slack: SlackEmulator
    engine: Engine  # the test's own connection, never through the proxy
    database_url: str  # the database itself
    workdir: Path
    users: list[str]
    webs: list[Host]
    worker: Host
    proxy: TcpProxy | None = None

    @property
    def env(self) -> dict[str, str]:
        return self.worker.env

    @property
    def hosts(self) -> list[Host]:
        return [*self.webs, self.worker]

    def balancer(self) -> Balancer:
        return Balancer(self.slack, self.webs)

    def import_items(self, ids: Sequence[str]) -> None:
        """``labelbot import`` as an operator runs it (on the database itself; in this process:
        a Python process's start is the dearest thing these scenarios do)."""
        from typer.testing import CliRunner

        from bot.cli import app

        path = self.workdir / f"items-{time.monotonic_ns()}.csv"
        pd.DataFrame([{"id": i, "text": f"ticket {i}"} for i in ids]).to_csv(path, index=False)
        env = {**self.env, "DATABASE_URL": self.database_url}
        done = CliRunner().invoke(app, ["import", "support", str(path)], env=env, catch_exceptions=False)
        if done.exit_code != 0:
            raise AssertionError(f"labelbot import failed:\n{done.output}")

    def item_messages(self) -> list[dict[str, Any]]:
        return [
            m
            for m in self.slack.messages(CHANNEL)
            if (m.get("metadata") or {}).get("event_type") == "labelbot_item"
        ]

    def stored_labels(self) -> dict[tuple[str, int], str]:
        with self.engine.connect() as conn:
            rows = conn.execute(text("SELECT user_id, item_id, value FROM labels")).all()
        return {(str(user), int(item)): str(value) for user, item, value in rows}

    def posted_items(self) -> dict[int, str]:
        """Items the database records as posted: id -> message ts."""
        with self.engine.connect() as conn:
            rows = conn.execute(text("SELECT id, message_ts FROM items WHERE message_ts IS NOT NULL")).all()
        return {int(item): str(ts) for item, ts in rows}

    def dirty_messages(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM items WHERE message_dirty")).scalar_one())

    def posts_per_item(self) -> Counter[int]:
        """``chat.postMessage`` calls that took effect, per item: answered ok, or failed after the
        effect (a 5xx the scenario injected with ``after_effect``: every 5xx here is one)."""
        counts: Counter[int] = Counter()
        for call in self.slack.calls_to("chat.postMessage"):
            metadata = call.params.get("metadata")
            if not isinstance(metadata, dict) or metadata.get("event_type") != "labelbot_item":
                continue
            if call.ok or call.status >= 500:
                counts[int(metadata["event_payload"]["item_id"])] += 1
        return counts


@contextmanager
def cluster(
    workdir: Path,
    database_url: str,
    *,
    webs: int = 2,
    users: int = 8,
    items: int = 4,
    max_open: int | None = None,
    per_item: int | None = None,
    proxied: bool = False,
) -> Iterator[Cluster]:
    """``webs`` web hosts and a worker serving one project, ``items`` imported (not yet posted:
    the caller waits for what it needs), the hosts ready."""
    people = annotators(users)
    slack = emulator(people)
    proxy = None
    url = database_url
    if proxied:
        parsed = make_url(database_url)
        proxy = TcpProxy(parsed.host or "127.0.0.1", parsed.port or 5432).start()
        url = parsed.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    (workdir / "labelbot.yml").write_text(
        yaml.safe_dump(
            {"projects": [project(people, max_open or max(items, 1), per_item or users)]}, sort_keys=False
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    env.update(
        {
            "SLACK_BOT_TOKEN": slack.bot_token,
            "SLACK_SIGNING_SECRET": slack.signing_secret,
            "SLACK_API_URL": slack.api_url,
            "DATABASE_URL": url,
            "LABELBOT_CONFIG": str(workdir / "labelbot.yml"),
            "LABELBOT_MODELS_DIR": str(workdir / "models"),
        }
    )
    hosts = [Host(f"web{n + 1}", "web", env, workdir) for n in range(webs)]
    worker = Host("worker", "worker", env, workdir)
    engine = make_engine(database_url)
    made = Cluster(slack, engine, database_url, workdir, people, hosts, worker, proxy)
    try:
        if items:
            made.import_items([f"i-{n}" for n in range(items)])
        for host in made.hosts:
            host.start()
        for host in made.hosts:
            host.wait_ready()
        yield made
    finally:
        for host in made.hosts:
            host.stop()
        if os.environ.get("LABELBOT_TEST_SHOW_LOGS"):
            for host in made.hosts:
                print(f"--- {host.name}\n{host.tail(200)}")
        if proxy is not None:
            proxy.stop()
        engine.dispose()
        slack.stop()


def project(people: list[str], max_open: int, per_item: int) -> dict[str, Any]:
    return {
        "key": "support",
        "name": "Support tickets",
        "channel": CHANNEL,
        "labels": [
            {"value": "billing", "text": "Billing"},
            {"value": "bug", "text": "Bug"},
            {"value": "other", "text": "Other"},
        ],
        "annotators": people,
        "annotators_per_item": per_item,
        "experts": {"default": [EXPERT], "admins": [ADMIN]},
        "guidelines": "# Support tickets\n\nLabel what the customer **needs**.",
        "delivery": "channel",
        "max_open": max_open,
    }


def _posted(c: Cluster, n: int) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = wait_until(
        lambda: len(c.item_messages()) >= n and c.item_messages(), WAIT, f"{n} items posted"
    )
    return messages


def _item_id(message: dict[str, Any]) -> int:
    return int(message["metadata"]["event_payload"]["item_id"])


# -- kill -9 of a web host during clicks --------------------------------------------------------------
@dataclass
class WebKills:
    kills: int
    clicks: int  # deliveries, including those a kill cut off (clicked again)
    failed: int  # deliveries not acked (the host died under them, or was down)
    cut_mid_request: int  # of those: the connection dropped after the request was sent (not refused)
    acked: int  # (user, item) pairs whose click got a 200
    stored: int  # those pairs with a label in the database
    lost: list[tuple[str, int]]  # acked, not stored: must be empty
    recover_seconds: list[float] = field(default_factory=list)  # kill -> the host ready again


class _Clicker(threading.Thread):
    """One user-facing stream of clicks: pairs handed over in chunks, each clicked until acked
    (a click that is not acked is clicked again, as the user would)."""

    def __init__(self, c: Cluster, balancer: Balancer) -> None:
        super().__init__(name="clicker", daemon=True)
        self.c, self.balancer = c, balancer
        self.todo: deque[tuple[str, int, str]] = deque()
        self.acked: set[tuple[str, int]] = set()
        self.deliveries: list[Delivery] = []
        self.sent = 0
        self.failed = 0
        self.cut_mid_request = 0
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.error: BaseException | None = None

    def give(self, pairs: Sequence[tuple[str, int, str]]) -> None:
        with self.lock:
            self.todo.extend(pairs)

    def pending(self) -> int:
        with self.lock:
            return len(self.todo)

    def run(self) -> None:
        try:
            while not self.done.is_set():
                with self.lock:
                    pair = self.todo.popleft() if self.todo else None
                if pair is None:
                    time.sleep(0.01)
                    continue
                user, item, ts = pair
                delivery = self.balancer.click(user, CHANNEL, ts, "label:billing")
                self.sent += 1
                if delivery is not None and delivery.status == 200:
                    self.acked.add((user, item))
                    continue
                self.failed += 1
                if delivery is not None and "refused" not in str(delivery.error):
                    self.cut_mid_request += 1  # a kill landed while this click was being handled
                with self.lock:
                    self.todo.append(pair)
                if delivery is None:
                    time.sleep(0.05)  # no host up: the user tries again in a moment
        except BaseException as exc:  # reported by the scenario, not lost in a thread
            self.error = exc


def web_kills(workdir: Path, database_url: str, kills: int, *, items: int = 4, users: int = 12) -> WebKills:
    """``kill -9`` of a web host (each in turn) ``kills`` times while clicks go to both; each is
    restarted. Every pair is clicked until acked; then every acked pair must be a stored label."""
    with cluster(workdir, database_url, items=items, users=users) as c:
        messages = _posted(c, items)
        pairs = [(u, _item_id(m), str(m["ts"])) for m in messages for u in c.users]
        chunks = [pairs[k :: kills + 1] for k in range(kills + 1)]
        clicker = _Clicker(c, c.balancer())
        clicker.start()
        recover: list[float] = []
        try:
            for k in range(kills + 1):
                before = clicker.sent
                clicker.give(chunks[k])
                if k < kills:
                    # Clicks under way, then the host dies under them.
                    wait_until(lambda b=before: clicker.sent >= b + 2 or clicker.error, WAIT, "clicks sent")
                    victim = c.webs[k % len(c.webs)]
                    killed = time.monotonic()
                    victim.kill()
                    victim.start().wait_ready()
                    recover.append(time.monotonic() - killed)
                wait_until(lambda: clicker.pending() == 0 or clicker.error, WAIT, "every click acked")
            wait_until(lambda: len(clicker.acked) == len(pairs) or clicker.error, WAIT, "every pair acked")
        finally:
            clicker.done.set()
            clicker.join(10)
        if clicker.error is not None:
            raise clicker.error
        stored = c.stored_labels()
        return WebKills(
            kills=sum(h.kills for h in c.webs),
            clicks=clicker.sent,
            failed=clicker.failed,
            cut_mid_request=clicker.cut_mid_request,
            acked=len(clicker.acked),
            stored=sum(1 for pair in clicker.acked if pair in stored),
            lost=sorted(pair for pair in clicker.acked if pair not in stored),
            recover_seconds=recover,
        )


# -- kill -9 of the worker during posting ---------------------------------------------------------------
@dataclass
class WorkerKills:
    kills: int
    items: int
    posted: int  # items the channel shows
    double_posts: int  # items whose post took effect more than once
    lost: int  # items never posted
    adopted: int  # posts the killed worker made, recorded by the next one from the channel
    recover_seconds: list[float] = field(default_factory=list)  # kill -> its post recorded


def worker_kills(workdir: Path, database_url: str, kills: int, *, answer_delay: float = 30.0) -> WorkerKills:
    """``kill -9`` of the worker ``kills`` times, each right after Slack took a post and before
    its answer reached the worker (Slack answers ``answer_delay`` s late: the worker cannot have
    recorded it). Then Slack answers at once again; every item must be posted exactly once."""
    items = kills + 2
    with cluster(workdir, database_url, items=0, users=2, webs=0, max_open=items) as c:
        c.slack.slow_answers(answer_delay, ["chat.postMessage"])
        c.import_items([f"w-{n}" for n in range(items)])
        recover: list[float] = []
        orphans: list[int] = []
        for k in range(kills):
            message = _posted(c, k + 1)[k]
            killed = time.monotonic()
            c.worker.kill()  # the post is in the channel; its answer has not arrived
            orphans.append(_item_id(message))
            assert _item_id(message) not in c.posted_items(), "recorded before its answer arrived"
            c.worker.start().wait_ready()
            wait_until(lambda m=message: _item_id(m) in c.posted_items(), WAIT, "the orphan adopted")
            recover.append(time.monotonic() - killed)
        c.slack.slow_answers(0, ["chat.postMessage"])
        wait_until(lambda: len(c.posted_items()) == items, WAIT, "every item recorded as posted")
        posts = c.posts_per_item()
        shown = Counter(_item_id(m) for m in c.item_messages())
        recorded = c.posted_items()
        adopted = sum(
            1
            for item in orphans
            if recorded.get(item) in {m["ts"] for m in c.item_messages() if _item_id(m) == item}
        )
        return WorkerKills(
            kills=c.worker.kills,
            items=items,
            posted=len(shown),
            double_posts=sum(1 for item in set(posts) | set(shown) if max(posts[item], shown[item]) > 1),
            lost=items - len(shown),
            adopted=adopted,
            recover_seconds=recover,
        )


# -- a database outage ----------------------------------------------------------------------------------
@dataclass
class Outage:
    outages: int
    acked: int  # clicks acked with their label stored (the confirmation)
    stored: int
    lost: list[tuple[str, int]]
    during: int  # clicks during the outages
    during_answered: int  # of those: a 200 within Slack's deadline
    during_told: int  # of those: the user saw that the label was not recorded
    slowest_ack: float  # seconds, over the clicks during the outages
    during_stored: int  # labels stored from clicks during the outage: must be 0
    recover_seconds: list[float] = field(default_factory=list)  # restore -> every host ready
    commands: int = 0  # `/label mine` run during the outages
    commands_answered: int = 0  # of those: a 200 within Slack's deadline
    commands_told: int = 0  # of those: the user saw the database notice
    slowest_command: float = 0.0  # seconds


def database_outage(
    workdir: Path, database_url: str, outages: int, *, clicks_during: int = 6, items: int = 3, users: int = 8
) -> Outage:
    """The database behind a cut proxy ``outages`` times (connections refused, then every other
    time accepted and never answered): clicks before (stored), during (answered in time, the
    user told, nothing stored), after (stored: the hosts reconnected)."""
    with cluster(workdir, database_url, items=items, users=users, proxied=True) as c:
        assert c.proxy is not None
        messages = _posted(c, items)
        pairs = [(u, _item_id(m), str(m["ts"])) for m in messages for u in c.users]
        balancer = c.balancer()
        acked: set[tuple[str, int]] = set()
        during: list[tuple[tuple[str, int], Delivery | None]] = []
        recover: list[float] = []
        queue = deque(pairs)

        def click(pair: tuple[str, int, str]) -> Delivery | None:
            return balancer.click(pair[0], CHANNEL, pair[2], "label:billing")

        def answers(user: str) -> int:
            """The user's ephemerals other than clicks' notices: a command's answer, whatever it says."""
            return sum(1 for e in c.slack.ephemerals(user=user) if NOT_RECORDED not in str(e.get("text", "")))

        def command(user: str) -> tuple[str, Delivery | None]:
            """A slash command that reads the database (the user's own labels), on the next host up;
            its answer (sent after the ack) is waited for while the database is still down."""
            host = balancer.target()
            if host is None:
                return user, None
            c.slack.deliver_to_http(host.events_url)
            before = answers(user)
            delivery = c.slack.slash_command(user, CHANNEL, "/label", "mine")
            wait_until(lambda: answers(user) > before, WAIT, "a command answered in the outage")
            return user, delivery

        commands: list[tuple[str, Delivery | None]] = []

        per_phase = max(1, len(pairs) // (2 * outages + 1))
        during_stored = 0
        for outage in range(outages):
            for _ in range(min(per_phase, len(queue))):
                pair = queue.popleft()
                delivery = click(pair)
                assert delivery is not None and delivery.status == 200, delivery
                acked.add(pair[:2])
            hang = outage % 2 == 1  # every other outage: a server that accepts and never answers
            c.proxy.cut(hang=hang)
            for host in c.hosts:
                wait_until(lambda h=host: h.readiness() == 503, WAIT, f"{host.name} not ready in the outage")
            cut_off = [queue.popleft() for _ in range(min(clicks_during, len(queue)))]
            queue.extend(cut_off)  # clicked again once the database is back
            if hang:  # all at once on one host: more clicks than its threads, each answered in time
                during += _burst(c, c.webs[0], cut_off)
            else:
                during += [(pair[:2], click(pair)) for pair in cut_off]
            commands.append(command(c.users[outage % len(c.users)]))
            restored = time.monotonic()
            c.proxy.restore()
            for host in c.hosts:
                host.wait_ready()
            recover.append(time.monotonic() - restored)
            now_stored = c.stored_labels()
            during_stored += sum(1 for pair in cut_off if pair[:2] in now_stored)
        while queue:
            pair = queue.popleft()
            delivery = click(pair)
            assert delivery is not None and delivery.status == 200, delivery
            acked.add(pair[:2])

        def told(user: str) -> int:
            return sum(1 for e in c.slack.ephemerals(user=user) if NOT_RECORDED in str(e.get("text", "")))

        def notices(user: str) -> int:
            return sum(1 for e in c.slack.ephemerals(user=user) if DATABASE_NOTICE in str(e.get("text", "")))

        commands_answered = [
            d for _, d in commands if d is not None and d.status == 200 and d.elapsed < ACK_DEADLINE
        ]
        asked = Counter(user for user, _ in commands)
        if len(commands_answered) == len(commands):
            wait_until(lambda: all(notices(u) >= n for u, n in asked.items()), WAIT, "every command answered")
        # The notices are sent after the ack: wait for them (one per click during the outages).
        expected = Counter(user for (user, _), _d in during)
        answered = [d for _, d in during if d is not None and d.status == 200 and d.elapsed < ACK_DEADLINE]
        if len(answered) == len(during):
            wait_until(
                lambda: all(told(u) >= n for u, n in expected.items()), WAIT, "every user told in the outage"
            )
        stored = c.stored_labels()
        # The worker reconnected too: it posts what was imported after the outage.
        c.import_items(["after-0"])
        _posted(c, items + 1)
        return Outage(
            outages=outages,
            acked=len(acked),
            stored=sum(1 for pair in acked if pair in stored),
            lost=sorted(pair for pair in acked if pair not in stored),
            during=len(during),
            during_answered=len(answered),
            during_told=min(len(during), sum(min(told(u), n) for u, n in expected.items())),
            slowest_ack=max((d.elapsed for _, d in during if d is not None), default=0.0),
            during_stored=during_stored,
            recover_seconds=recover,
            commands=len(commands),
            commands_answered=len(commands_answered),
            commands_told=min(len(commands), sum(min(notices(u), n) for u, n in asked.items())),
            slowest_command=max((d.elapsed for _, d in commands if d is not None), default=0.0),
        )


def _burst(
    c: Cluster, host: Host, pairs: Sequence[tuple[str, int, str]]
) -> list[tuple[tuple[str, int], Delivery | None]]:
    """The clicks of ``pairs`` sent to ``host`` at the same time, one thread each."""
    c.slack.deliver_to_http(host.events_url)
    answers: dict[int, Delivery] = {}
    start = threading.Barrier(len(pairs))

    def click(n: int, user: str, ts: str) -> None:
        start.wait(30)
        answers[n] = c.slack.click(user, CHANNEL, ts, "label:billing")

    threads = [
        threading.Thread(target=click, args=(n, user, ts), daemon=True)
        for n, (user, _, ts) in enumerate(pairs)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    return [(pair[:2], answers.get(n)) for n, pair in enumerate(pairs)]


# -- 429 and 5xx storms on Slack's side -------------------------------------------------------------------
@dataclass
class Storms:
    storms: int
    items: int
    double_posts: int
    lost: int
    refused_calls: Counter[str]  # calls Slack refused in the storms, by method
    acks_during: int  # clicks during the storms
    acks_failed: int  # of those, not a 200 within Slack's deadline: must be 0
    dirty_left: int  # item messages still showing stale progress after the catch-up: must be 0
    home_caught_up: float | None  # a Home published in a views.publish storm: seconds after it (None: never)
    catch_up_seconds: list[float] = field(default_factory=list)  # storm over -> all posted and fresh


def slack_storms(workdir: Path, database_url: str, storms: int, *, items_per_storm: int = 2) -> Storms:
    """``storms`` rounds of a 429 storm then a 5xx storm (answers lost after the effect: every 5xx
    is a post that landed) on ``chat.postMessage``, ``chat.update`` and ``views.*``, while items
    arrive and people click; after each, everything must catch up, nothing posted twice."""
    first = 2
    with cluster(workdir, database_url, items=first, users=4, max_open=50) as c:
        _posted(c, first)
        balancer = c.balancer()
        clicks: list[Delivery | None] = []
        catch_up: list[float] = []
        total = first
        values = ["bug", "other", "billing"]
        for k in range(storms):
            for j, (status, after) in enumerate(((429, False), (500, True))):
                value = values[(2 * k + j) % len(values)]  # a new label: every message changes
                before = Counter(call.method for call in c.slack.calls if call.status == status)
                c.slack.fail_for(3600, status, retry_after=1, methods=SLACK_METHODS, after_effect=after)
                new = [f"s{k}-{status}-{n}" for n in range(items_per_storm)]
                c.import_items(new)
                total += len(new)
                for m, user in zip(c.item_messages(), c.users, strict=False):
                    clicks.append(balancer.click(user, CHANNEL, str(m["ts"]), f"label:{value}"))
                last = c.item_messages()[-1]
                clicks.append(balancer.click(c.users[0], CHANNEL, str(last["ts"]), "guidelines"))

                def refused(b: Counter[str] = before, s: int = status) -> bool:
                    now = Counter(
                        call.method
                        for call in c.slack.calls
                        if call.method in SLACK_METHODS and call.status == s
                    )
                    return all(now[m] > b[m] for m in ("chat.postMessage", "chat.update"))

                wait_until(
                    refused,
                    WAIT,
                    lambda s=status: (
                        f"Slack refusing posts and updates with {s}: "
                        f"{Counter((call.method, call.status) for call in c.slack.calls)}"
                    ),
                )
                c.slack.stop_failing()
                over = time.monotonic()
                wait_until(
                    lambda t=total: len(c.posted_items()) == t and c.dirty_messages() == 0,
                    WAIT,
                    "every item posted and every message fresh after the storm",
                )
                catch_up.append(time.monotonic() - over)
        # views.* answer again: the guidelines open.
        views = len(c.slack.views)
        delivery = balancer.click(c.users[1], CHANNEL, str(c.item_messages()[0]["ts"]), "guidelines")
        assert delivery is not None and delivery.status == 200
        wait_until(lambda: len(c.slack.views) > views, WAIT, "the guidelines modal after the storms")
        home_caught_up = _home_after_a_publish_storm(c, balancer)
        posts = c.posts_per_item()
        shown = Counter(_item_id(m) for m in c.item_messages())
        refused_calls = Counter(
            call.method
            for call in c.slack.calls
            if call.method in SLACK_METHODS and (call.status == 429 or call.status >= 500)
        )
        return Storms(
            storms=storms * 2,
            items=total,
            double_posts=sum(1 for item in set(posts) | set(shown) if max(posts[item], shown[item]) > 1),
            lost=total - len(shown),
            refused_calls=refused_calls,
            acks_during=len(clicks),
            acks_failed=sum(1 for d in clicks if d is None or d.status != 200 or d.elapsed >= ACK_DEADLINE),
            dirty_left=c.dirty_messages(),
            home_caught_up=home_caught_up,
            catch_up_seconds=catch_up,
        )


def _home_after_a_publish_storm(c: Cluster, balancer: Balancer) -> float | None:
    """An admin pauses the project while ``views.publish`` fails with 503 (before the effect): once
    Slack answers again, their App Home must show the pause. The seconds that took, None if never."""
    c.slack.fail_for(3600, 503, methods=["views.publish"])
    host = balancer.target()
    assert host is not None
    c.slack.deliver_to_http(host.events_url)
    answered = c.slack.slash_command(ADMIN, CHANNEL, "/label", "pause support")
    assert answered.status == 200, answered
    wait_until(
        lambda: any(call.method == "views.publish" and call.status == 503 for call in c.slack.calls),
        WAIT,
        "the Home's publish refused",
    )
    c.slack.stop_failing()
    over = time.monotonic()

    def paused() -> bool:
        return "resume_project" in str(c.slack.home(ADMIN) or {})

    try:
        wait_until(paused, 30, "the admin's Home showing the pause")
    except AssertionError:
        return None
    finally:
        c.slack.deliver_to_http(host.events_url)
        c.slack.slash_command(ADMIN, CHANNEL, "/label", "resume support")
    return time.monotonic() - over
