"""Benchmark: labels per minute through personal DM sessions vs through one channel.

Fixed parameters (the issue's): 20 simulated annotators, 5 s of thinking per item, 3 labels per
item, ``max_open: 10``. The real ``labelbot serve`` (HTTP mode, SQLite) runs against the Slack
emulator with Slack's rate limits on; each annotator is a thread that acts only through Slack's
wire protocol (signed clicks, slash commands, ``response_url`` answers):

- **channel** (``delivery: channel``): an annotator looks at the channel, picks at random one
  item message that still shows label buttons and that they have not answered, thinks 5 s, and
  clicks a label. A click on an item that got its three labels while they were thinking is
  refused (wasted). With nothing to pick they look again 0.2 s later.
- **dm** (``delivery: dm``): an annotator runs ``/label next PROJECT``, then thinks 5 s on the
  item their session message shows and clicks a label; the message is replaced with the next
  item. "Nothing waits" makes them press "Check again" a second later.

Labels are counted in the database (labels created in the measured window, after a warm-up).

    .venv/bin/python benchmarks/dm_vs_channel.py [--seconds 90] [--warmup 15] [--think 5]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.slack.emulator import SlackEmulator

CHANNEL = "C0BENCH"
PEOPLE = [f"U0P{i:02d}" for i in range(20)]
ITEM_EVENT = "labelbot_item"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Served:
    """One ``labelbot serve`` on a fresh SQLite database with ``items`` imported."""

    def __init__(self, labelbot: str, slack: SlackEmulator, delivery: str, items: int) -> None:
        self.work = Path(tempfile.mkdtemp(prefix="labelbot-dm-bench-"))
        project = {
            "key": "bench",
            "name": "Benchmark",
            "channel": CHANNEL,
            "labels": [{"value": v, "text": v.upper()} for v in "abc"],
            "annotators": [],
            "annotators_per_item": 3,
            "max_open": 10,
            "delivery": delivery,
            "experts": {"default": ["U0EXPERT"], "admins": ["U0ADMIN"]},
            "model": {"enabled": False},
        }
        (self.work / "labelbot.yml").write_text(yaml.safe_dump({"projects": [project]}))
        self.db = self.work / "bench.db"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("SLACK_")},
            "SLACK_BOT_TOKEN": slack.bot_token,
            "SLACK_SIGNING_SECRET": slack.signing_secret,
            "SLACK_API_URL": slack.api_url,
            "DATABASE_URL": f"sqlite:///{self.db}",
            "LABELBOT_CONFIG": str(self.work / "labelbot.yml"),
        }
        csv = self.work / "items.csv"
        pd.DataFrame(
            {"id": [f"b-{i}" for i in range(items)], "text": [f"text {i}" for i in range(items)]}
        ).to_csv(csv, index=False)
        subprocess.run(
            [labelbot, "import", "bench", str(csv)],
            env=self.env,
            cwd=self.work,
            check=True,
            capture_output=True,
        )
        self.port = free_port()
        self.log = (self.work / "serve.log").open("wb")
        self.proc = subprocess.Popen(
            [labelbot, "serve", "--port", str(self.port)],
            env=self.env,
            cwd=self.work,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise SystemExit(f"labelbot serve did not start: see {self.work / 'serve.log'}")
            time.sleep(0.1)
        slack.deliver_to_http(f"http://127.0.0.1:{self.port}/slack/events")

    def labels_between(self, start: float, end: float) -> int:
        with sqlite3.connect(self.db) as conn:
            rows = conn.execute("SELECT created_at FROM labels").fetchall()
        stamps = [datetime.fromisoformat(r[0]).replace(tzinfo=UTC).timestamp() for r in rows]
        return sum(1 for t in stamps if start <= t < end)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(20)
        self.log.close()


def _label_buttons(message: dict[str, Any] | None, prefix: str) -> list[str]:
    if not message:
        return []
    return [
        e["action_id"]
        for b in message.get("blocks") or []
        if b.get("type") == "actions"
        for e in b.get("elements", [])
        if str(e.get("action_id", "")).startswith(prefix)
    ]


def channel_person(
    slack: SlackEmulator, user: str, think: float, until: float, stats: dict[str, int]
) -> None:
    rng, answered = random.Random(user), set()
    while time.time() < until:
        messages = [
            m
            for m in slack.messages(CHANNEL)
            if (m.get("metadata") or {}).get("event_type") == ITEM_EVENT
            and m["ts"] not in answered
            and _label_buttons(m, "label:")
        ]
        if not messages:
            time.sleep(0.2)
            continue
        ts = rng.choice(messages)["ts"]
        time.sleep(think)
        if time.time() >= until:
            return
        answered.add(ts)
        try:
            slack.click(user, CHANNEL, ts, "label:a" if rng.random() < 0.9 else "label:b")
            stats["clicks"] += 1
        except LookupError:  # the message lost its buttons while they thought
            stats["wasted"] += 1


def dm_person(slack: SlackEmulator, user: str, think: float, until: float, stats: dict[str, int]) -> None:
    rng = random.Random(user)
    slack.slash_command(user, CHANNEL, "/label", "next bench")
    dm = slack.dm_channel(user)
    deadline = time.time() + 30
    while not slack.messages(dm) and time.time() < deadline:
        time.sleep(0.05)
    while time.time() < until:
        messages = slack.messages(dm)
        if not messages:
            time.sleep(0.5)
            slack.slash_command(user, CHANNEL, "/label", "next bench")
            continue
        message = messages[-1]
        before = json.dumps(message.get("blocks"))
        if not _label_buttons(message, "dm_label:"):
            time.sleep(1.0)
            try:
                slack.click(user, dm, message["ts"], "dm_next")
            except LookupError:
                slack.slash_command(user, CHANNEL, "/label", "next bench")
            time.sleep(0.2)
            continue
        time.sleep(think)
        if time.time() >= until:
            return
        slack.click(user, dm, message["ts"], "dm_label:a" if rng.random() < 0.9 else "dm_label:b")
        stats["clicks"] += 1
        wait_until = time.time() + 10
        while time.time() < wait_until:  # the answer replaces the message through response_url
            current = slack.message(dm, message["ts"])
            if current is not None and json.dumps(current.get("blocks")) != before:
                break
            time.sleep(0.02)


def run(labelbot: str, delivery: str, seconds: float, warmup: float, think: float) -> dict[str, Any]:
    with SlackEmulator(rate_limits="slack") as slack:
        slack.add_channel(CHANNEL, "bench", members=[*PEOPLE, "U0EXPERT", "UBOT"])
        for user in [*PEOPLE, "U0EXPERT"]:
            slack.add_user(user, user.lower())
        served = Served(labelbot, slack, "channel" if delivery == "channel" else "dm", items=3000)
        try:
            begin = time.time()
            until = begin + warmup + seconds
            stats = {"clicks": 0, "wasted": 0}
            person = channel_person if delivery == "channel" else dm_person
            threads = [threading.Thread(target=person, args=(slack, u, think, until, stats)) for u in PEOPLE]
            for t in threads:
                t.start()
            for t in threads:
                t.join(seconds + warmup + 60)
            labels = served.labels_between(begin + warmup, until)
            posts = sum(1 for c in slack.calls_to("chat.postMessage") if c.status == 200)
            return {
                "delivery": delivery,
                "seconds": seconds,
                "labels": labels,
                "labels_per_min": round(labels / (seconds / 60), 1),
                "clicks": stats["clicks"],
                "wasted_clicks": stats["wasted"],
                "chat_postMessage": posts,
                "chat_update": sum(1 for c in slack.calls_to("chat.update") if c.status == 200),
            }
        finally:
            served.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=90.0, help="the measured window per mode")
    parser.add_argument("--warmup", type=float, default=15.0, help="seconds before the window")
    parser.add_argument("--think", type=float, default=5.0, help="seconds of thinking per item")
    parser.add_argument("--labelbot", default=str(Path(sys.executable).with_name("labelbot")))
    parser.add_argument("--only", choices=["channel", "dm"])
    args = parser.parse_args()
    results = []
    for delivery in ("channel", "dm"):
        if args.only in (None, delivery):
            results.append(run(args.labelbot, delivery, args.seconds, args.warmup, args.think))
            print(json.dumps(results[-1]), flush=True)
    if len(results) == 2:
        ratio = results[1]["labels_per_min"] / max(results[0]["labels_per_min"], 1e-9)
        people_bound = len(PEOPLE) * 60 / args.think
        print(json.dumps({"dm_over_channel": round(ratio, 2), "people_bound_labels_per_min": people_bound}))


if __name__ == "__main__":
    main()
