"""Benchmark: the dispatcher's fairness and its recovery after Slack outages.

Starts the real ``labelbot serve`` (HTTP mode, SQLite) against the Slack emulator with Slack's
rate limits on, and measures:

1. **Starvation.** Three annotators label every item the moment its message appears, so items
   close as fast as they are posted; every third item gets three different labels (an escalation:
   a thread post), the others agree (resolved: the message must be refreshed to show it). After
   ``--seconds`` of this the clicking stops, and the benchmark reports what was served *during*
   the run (thread posts, ``chat.update`` calls, the longest gap between two updates) and the
   time from the end of the clicking until every escalation has its thread post and every
   resolved item's message has lost its label buttons.
2. **Recovery.** While items are being posted, the emulator answers every Web API call with 429
   (``Retry-After: 1``) for 30 s, then with HTTP 500 for 30 s; reported: the time from the end of
   each storm to the next successful ``chat.postMessage``. The goal is 5 s or less.

``--labelbot PATH`` runs another checkout's command (e.g. the code before a change), so that both
are measured with the same instrument and the same emulator:

    .venv/bin/python benchmarks/dispatch_fairness.py [--seconds 40] [--labelbot PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.slack.emulator import SlackEmulator

CHANNEL = "C0FAIR"
ANNOTATORS = ["U0A1", "U0A2", "U0A3"]
ITEM_EVENT = "labelbot_item"
THREAD_EVENT = "labelbot_escalation"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Served:
    """One ``labelbot serve`` process on a fresh SQLite database, with ``items`` imported."""

    def __init__(self, labelbot: str, slack: SlackEmulator, items: int, max_open: int) -> None:
        self.work = Path(tempfile.mkdtemp(prefix="labelbot-fairness-"))
        (self.work / "labelbot.yml").write_text(
            yaml.safe_dump(
                {
                    "projects": [
                        {
                            "key": "fair",
                            "name": "Fairness",
                            "channel": CHANNEL,
                            "labels": [
                                {"value": "a", "text": "A"},
                                {"value": "b", "text": "B"},
                                {"value": "c", "text": "C"},
                            ],
                            "annotators": [],
                            "experts": {"default": ["U0EXPERT"], "admins": ["U0ADMIN"]},
                            "max_open": max_open,
                            "model": {"enabled": False},
                        }
                    ]
                }
            )
        )
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("SLACK_")},
            "SLACK_BOT_TOKEN": slack.bot_token,
            "SLACK_SIGNING_SECRET": slack.signing_secret,
            "SLACK_API_URL": slack.api_url,
            "DATABASE_URL": f"sqlite:///{self.work / 'bench.db'}",
            "LABELBOT_CONFIG": str(self.work / "labelbot.yml"),
        }
        self.labelbot, self.slack = labelbot, slack
        csv = self.work / "items.csv"
        pd.DataFrame(
            {"id": [f"f-{i}" for i in range(items)], "text": [f"text {i}" for i in range(items)]}
        ).to_csv(csv, index=False)
        subprocess.run(
            [labelbot, "import", "fair", str(csv)],
            env=self.env,
            cwd=self.work,
            check=True,
            capture_output=True,
        )
        self.port = free_port()
        self.log = (self.work / "serve.log").open("wb")
        self.proc = subprocess.Popen(
            [labelbot, "serve", "--port", str(self.port), "--log-level", "info"],
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

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(20)
        self.log.close()


def item_messages(slack: SlackEmulator) -> list[dict[str, Any]]:
    return [m for m in slack.messages(CHANNEL) if (m.get("metadata") or {}).get("event_type") == ITEM_EVENT]


def item_id(message: dict[str, Any]) -> int:
    return int(message["metadata"]["event_payload"]["item_id"])


def shows_buttons(message: dict[str, Any] | None) -> bool:
    return message is not None and '"label:' in json.dumps(message.get("blocks") or [])


def has_thread_post(slack: SlackEmulator, ts: str) -> bool:
    return any((m.get("metadata") or {}).get("event_type") == THREAD_EVENT for m in slack.thread(CHANNEL, ts))


def starvation(labelbot: str, seconds: float) -> dict[str, Any]:
    with SlackEmulator(rate_limits="slack") as slack:
        slack.add_channel(CHANNEL, "fairness", members=[*ANNOTATORS, "U0EXPERT", "UBOT"])
        for user in [*ANNOTATORS, "U0EXPERT"]:
            slack.add_user(user, user.lower())
        served = Served(labelbot, slack, items=2000, max_open=5)
        try:
            clicked: dict[str, str] = {}  # ts -> "escalated" | "resolved"
            stop_at = time.time() + seconds
            while time.time() < stop_at:
                for message in item_messages(slack):
                    ts = message["ts"]
                    if ts in clicked:
                        continue
                    escalate = item_id(message) % 3 == 0
                    for user, label in zip(ANNOTATORS, "abc" if escalate else "aaa", strict=True):
                        slack.click(user, CHANNEL, ts, f"label:{label}")
                    clicked[ts] = "escalated" if escalate else "resolved"
                time.sleep(0.02)
            stopped = time.time()
            updates = sorted(c.at for c in slack.calls_to("chat.update") if c.status == 200)
            threads_during = sum(
                has_thread_post(slack, ts) for ts, kind in clicked.items() if kind == "escalated"
            )
            gaps = [b - a for a, b in zip([stopped - seconds, *updates], [*updates, stopped], strict=True)]

            def pending() -> tuple[int, int]:
                threads = sum(
                    1
                    for ts, kind in clicked.items()
                    if kind == "escalated" and not has_thread_post(slack, ts)
                )
                stale = sum(1 for ts in clicked if shows_buttons(slack.message(CHANNEL, ts)))
                return threads, stale

            at_stop = pending()
            threads_done = refresh_done = None
            deadline = stopped + 180
            while time.time() < deadline and (threads_done is None or refresh_done is None):
                threads, stale = pending()
                if threads == 0 and threads_done is None:
                    threads_done = time.time() - stopped
                if stale == 0 and refresh_done is None:
                    refresh_done = time.time() - stopped
                time.sleep(0.1)
            return {
                "seconds": seconds,
                "items_closed": len(clicked),
                "escalations": sum(1 for k in clicked.values() if k == "escalated"),
                "thread_posts_during": threads_during,
                "updates_during": len([u for u in updates if u <= stopped]),
                "longest_update_gap_s": round(max(gaps), 1),
                "at_stop_threads_missing": at_stop[0],
                "at_stop_messages_stale": at_stop[1],
                "all_threads_posted_after_s": None if threads_done is None else round(threads_done, 1),
                "all_messages_refreshed_after_s": None if refresh_done is None else round(refresh_done, 1),
            }
        finally:
            served.stop()


def recovery(labelbot: str, storm_seconds: float) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with SlackEmulator(rate_limits="slack") as slack:
        slack.add_channel(CHANNEL, "fairness", members=["UBOT"])
        served = Served(labelbot, slack, items=1000, max_open=1000)
        try:
            for name, status in (("429", 429), ("500", 500)):
                posts = lambda: [c.at for c in slack.calls_to("chat.postMessage") if c.status == 200]  # noqa: E731
                start = len(posts())
                deadline = time.time() + 30
                while len(posts()) < start + 3 and time.time() < deadline:  # posting steadily
                    time.sleep(0.1)
                slack.fail_for(storm_seconds, status, retry_after=1 if status == 429 else None)
                ended = time.time() + storm_seconds
                time.sleep(storm_seconds)
                deadline = ended + 180
                after = None
                while time.time() < deadline:
                    later = [t for t in posts() if t >= ended]
                    if later:
                        after = min(later) - ended
                        break
                    time.sleep(0.05)
                results[f"storm_{name}_recovery_s"] = None if after is None else round(after, 2)
                results[f"storm_{name}_failed_calls"] = sum(
                    1 for c in slack.calls if c.status == status and ended - storm_seconds <= c.at < ended
                )
        finally:
            served.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=40.0, help="how long the annotators click")
    parser.add_argument("--storm", type=float, default=30.0, help="seconds of each storm")
    parser.add_argument("--labelbot", default=str(Path(sys.executable).with_name("labelbot")))
    parser.add_argument("--only", choices=["starvation", "recovery"])
    args = parser.parse_args()
    result: dict[str, Any] = {"labelbot": args.labelbot}
    if args.only != "recovery":
        result.update(starvation(args.labelbot, args.seconds))
        print(json.dumps(result), flush=True)
    if args.only != "starvation":
        result.update(recovery(args.labelbot, args.storm))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
