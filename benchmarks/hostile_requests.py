"""Benchmark: what refused requests cost `labelbot serve`: memory under huge unsigned bodies, log bytes.

Starts the real ``labelbot serve`` (HTTP mode, SQLite) against the Slack emulator, then:

1. sends 4 unsigned requests of 200 MiB each at once (streamed by the client, as an attacker
   would) and reports the server's resident memory before and at its peak (from /proc);
2. sends N unsigned requests of 1 MB (just under the cap) and N signed bodies that do not parse, back to back, and
   reports the server's log bytes per refused request (the log file's growth over N).

``--labelbot PATH`` runs another checkout's command (e.g. the code before a change), so that both
are measured with the same instrument:

    .venv/bin/python benchmarks/hostile_requests.py [--requests 200] [--labelbot PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.slack.emulator import SlackEmulator, signed_headers

MIB = 2**20


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def huge_unsigned(port: int, size: int, results: list[str]) -> None:
    """Stream ``size`` bytes as one unsigned request; what the server answered, if anything."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=60) as conn:
            conn.sendall(
                f"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                f"Content-Length: {size}\r\n\r\n".encode()
            )
            chunk = b"a" * MIB
            sent = 0
            try:
                while sent < size:
                    conn.sendall(chunk)
                    sent += len(chunk)
            except OSError:
                pass
            conn.settimeout(10)
            try:
                results.append(conn.recv(64).split(b"\r\n")[0].decode(errors="replace"))
            except OSError as exc:
                results.append(f"closed after {sent // MIB} MiB ({type(exc).__name__})")
    except OSError as exc:
        results.append(type(exc).__name__)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--requests", type=int, default=200, help="refused requests for the log figure (each kind)"
    )
    parser.add_argument("--labelbot", default=str(Path(sys.executable).with_name("labelbot")))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="labelbot-hostile-"))
    with SlackEmulator(rate_limits="off") as slack:
        slack.add_channel("C0HOSTILE", "hostile", members=["UBOT"])
        (work / "labelbot.yml").write_text(
            yaml.safe_dump(
                {
                    "projects": [
                        {
                            "key": "hostile",
                            "name": "Hostile",
                            "channel": "C0HOSTILE",
                            "labels": [{"value": "a", "text": "A"}, {"value": "b", "text": "B"}],
                            "experts": {"admins": ["U0ADMIN"]},
                        }
                    ]
                }
            )
        )
        port = free_port()
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("SLACK_")},
            "SLACK_BOT_TOKEN": slack.bot_token,
            "SLACK_SIGNING_SECRET": slack.signing_secret,
            "SLACK_API_URL": slack.api_url,
            "DATABASE_URL": f"sqlite:///{work / 'bench.db'}",
            "LABELBOT_CONFIG": str(work / "labelbot.yml"),
        }
        log_path = work / "serve.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [args.labelbot, "serve", "--port", str(port), "--log-level", "info"],
                env=env,
                cwd=work,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit(f"labelbot serve did not start:\n{log_path.read_text()}")
                time.sleep(0.1)
            time.sleep(1)
            before = rss_mib(proc.pid)
            peak, results = before, []
            threads = [
                threading.Thread(target=huge_unsigned, args=(port, 200 * MIB, results)) for _ in range(4)
            ]
            for t in threads:
                t.start()
            while any(t.is_alive() for t in threads):
                peak = max(peak, rss_mib(proc.pid))
                time.sleep(0.05)
            after = rss_mib(proc.pid)
            print(
                f"memory: {before:.0f} MiB before, {peak:.0f} MiB at the peak, {after:.0f} MiB after 4 x 200 MiB unsigned requests"
            )
            print(f"  answers: {results}")

            size_before = log_path.stat().st_size
            unsigned = b"payload=" + b"x" * 999_000  # under the 1 MB cap: refused for its signature
            statuses: dict[int, int] = {}
            bad = b"payload=notjson"
            signed = {
                **signed_headers(slack.signing_secret, bad),
                "Content-Type": "application/x-www-form-urlencoded",
            }
            form = {"Content-Type": "application/x-www-form-urlencoded"}
            with httpx.Client(timeout=30) as client:
                for _ in range(args.requests):
                    for body, headers in ((unsigned, form), (bad, signed)):
                        try:
                            url = f"http://127.0.0.1:{port}/slack/events"
                            status = client.post(url, content=body, headers=headers).status_code
                        except httpx.HTTPError:
                            status = 0  # the connection was dropped
                        statuses[status] = statuses.get(status, 0) + 1
            time.sleep(0.5)
            grown = log_path.stat().st_size - size_before
            refused = 2 * args.requests
            print(
                f"log: {grown} bytes for {refused} refused requests, {grown / refused:.1f} bytes each; statuses {statuses}"
            )
            print(
                json.dumps(
                    {
                        "rss_before_mib": round(before),
                        "rss_peak_mib": round(peak),
                        "rss_after_mib": round(after),
                        "log_bytes": grown,
                        "refused": refused,
                        "log_bytes_per_refused": round(grown / refused, 1),
                        "statuses": statuses,
                        "huge_answers": results,
                    }
                )
            )
        finally:
            proc.terminate()
            proc.wait(20)


if __name__ == "__main__":
    main()
