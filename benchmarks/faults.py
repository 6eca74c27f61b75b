"""Faults across several labelbot hosts on one PostgreSQL database, with the figures.

The scenarios of ``tests/scenarios/test_faults.py`` (``tests/support/faults.py``), repeated more:
``kill -9`` of a web host during clicks, of the worker right after Slack took a post, database
outages through a cut TCP proxy, 429 and 5xx storms on ``chat.postMessage``, ``chat.update`` and
``views.*``. Prints per scenario the counts (kills, clicks acked, labels stored, double posts,
items lost) and the seconds: a killed host's restart until ready, an outage's end until every host
is ready, a storm's end until every item is posted and every message fresh.

Each scenario gets a database of its own on the server (created, migrated, dropped). The machine's
PostgreSQL is never restarted: outages are a proxy's.

    python benchmarks/faults.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test \\
        --kills 10 --worker-kills 10 --outages 5 --storms 3
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from storage.db import ensure_schema, make_engine, normalize_url, redact_url
from tests.support import faults


@contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """A migrated database of its own on the server at ``server_url``, dropped afterwards."""
    url = make_url(normalize_url(server_url))
    name = f"labelbot_faults_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    database = url.set(database=name).render_as_string(hide_password=False)
    try:
        engine = make_engine(database)
        ensure_schema(engine)
        engine.dispose()
        yield database
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def seconds(values: list[float]) -> str:
    if not values:
        return "-"
    return (
        f"median {statistics.median(values):.1f} s, max {max(values):.1f} s "
        f"(each: {', '.join(f'{v:.1f}' for v in values)})"
    )


def run(name: str, server_url: str, scenario: Callable[[Path, str], Any]) -> Any:
    started = time.monotonic()
    with fresh_database(server_url) as database, tempfile.TemporaryDirectory() as workdir:
        result = scenario(Path(workdir), database)
    print(f"\n== {name} ({time.monotonic() - started:.0f} s)", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", required=True, help="a PostgreSQL server (databases are made on it)"
    )
    parser.add_argument("--kills", type=int, default=10, help="kill -9 of a web host during clicks")
    parser.add_argument("--worker-kills", type=int, default=10, help="kill -9 of the worker mid-post")
    parser.add_argument("--outages", type=int, default=5, help="database outages (a cut proxy)")
    parser.add_argument("--storms", type=int, default=3, help="rounds of a 429 then a 5xx storm")
    args = parser.parse_args()
    # SIGTERM as Ctrl-C: the hosts are stopped and the databases dropped on the way out.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    if make_url(normalize_url(args.database_url)).get_backend_name() != "postgresql":
        parser.error("several hosts share a PostgreSQL database: give one")
    print(f"faults: PostgreSQL at {redact_url(args.database_url)}; 2 web hosts and 1 worker as processes")
    print("load average (1, 5, 15 min) at the start: " + ", ".join(f"{v:.1f}" for v in os.getloadavg()))
    failed = []

    if args.kills:
        web = run(
            "kill -9 of a web host during clicks",
            args.database_url,
            lambda w, d: faults.web_kills(w, d, args.kills),
        )
        print(
            f"kills {web.kills}; clicks sent {web.clicks}, not acked {web.failed} (clicked again), "
            f"of which in flight when the kill landed {web.cut_mid_request}"
        )
        print(f"acked {web.acked}; stored {web.stored}; acked but lost {len(web.lost)}")
        print(f"restart until ready: {seconds(web.recover_seconds)}")
        failed += ["web kills"] if web.lost or web.acked != web.stored else []

    if args.worker_kills:
        worker = run(
            "kill -9 of the worker right after Slack took a post",
            args.database_url,
            lambda w, d: faults.worker_kills(w, d, args.worker_kills),
        )
        print(
            f"kills {worker.kills}; items {worker.items}; posted {worker.posted}; double posts {worker.double_posts}"
        )
        print(f"lost {worker.lost}; posts of a killed worker adopted by the next {worker.adopted}")
        print(f"kill until its post recorded (restart included): {seconds(worker.recover_seconds)}")
        failed += ["worker kills"] if worker.double_posts or worker.lost else []

    if args.outages:
        outage = run(
            "database outage (a cut proxy: connections closed; new ones refused, every other time hung)",
            args.database_url,
            lambda w, d: faults.database_outage(w, d, args.outages),
        )
        print(
            f"outages {outage.outages}; acked {outage.acked}; stored {outage.stored}; lost {len(outage.lost)}"
        )
        print(
            f"clicks during the outages {outage.during}: answered 200 within 3 s {outage.during_answered}, "
            f"told 'not recorded' {outage.during_told}, stored {outage.during_stored}; "
            f"slowest ack {outage.slowest_ack * 1000:.0f} ms"
        )
        print(
            f"slash commands during the outages {outage.commands}: answered 200 within 3 s "
            f"{outage.commands_answered}, told the database notice {outage.commands_told}; "
            f"slowest {outage.slowest_command * 1000:.0f} ms"
        )
        print(f"outage over until every host ready: {seconds(outage.recover_seconds)}")
        failed += (
            ["outage"]
            if outage.lost
            or outage.during_answered != outage.during
            or outage.commands_answered != outage.commands
            else []
        )

    if args.storms:
        storms = run(
            "429 and 5xx storms on chat.postMessage, chat.update, views.*",
            args.database_url,
            lambda w, d: faults.slack_storms(w, d, args.storms),
        )
        refused = ", ".join(f"{m} {n}" for m, n in sorted(storms.refused_calls.items()))
        print(
            f"storms {storms.storms}; items {storms.items}; double posts {storms.double_posts}; lost {storms.lost}"
        )
        print(f"calls refused in the storms: {refused}")
        print(f"clicks during the storms {storms.acks_during}, not acked in 3 s {storms.acks_failed}")
        print(
            f"storm over until every item posted and every message fresh: {seconds(storms.catch_up_seconds)}"
        )
        home = "never" if storms.home_caught_up is None else f"{storms.home_caught_up:.1f} s"
        print(f"an App Home published in a views.publish storm (503), showing the change after it: {home}")
        caught_up = storms.home_caught_up is not None and not storms.dirty_left
        failed += ["storms"] if storms.double_posts or storms.lost or not caught_up else []

    print("load average (1, 5, 15 min) at the end: " + ", ".join(f"{v:.1f}" for v in os.getloadavg()))
    print(f"\n{'FAILED: ' + ', '.join(failed) if failed else 'every invariant held'}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
