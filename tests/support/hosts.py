"""Several labelbot hosts simulated as ``labelbot serve --role …`` processes on one database.

A :class:`Host` is one process as an operator starts it; ``kill()`` is ``kill -9`` (no shutdown
of any kind) and ``start()`` starts it again on the same port, as a supervisor would. The
:class:`Balancer` is the test's load balancer: each Slack request goes to the next host that is
up, in turn (``deliver_to_http`` before each delivery, from one thread).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx

from bot.slack.emulator import SlackEmulator
from bot.slack.emulator.core import Delivery

__all__ = ["LABELBOT", "Balancer", "Host", "wait_until"]

LABELBOT = str(Path(os.path.abspath(sys.executable)).with_name("labelbot"))
READY_TIMEOUT = 60.0


def wait_until(
    predicate: Callable[[], Any], timeout: float, what: str | Callable[[], str], interval: float = 0.05
) -> Any:
    """Poll ``predicate`` until it is truthy (returned); AssertionError naming ``what`` (or what it
    returns then) after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f}s: {what if isinstance(what, str) else what()}")
        time.sleep(interval)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Host:
    """``labelbot serve --role role`` on a port of its own, its output in ``<name>.log``."""

    def __init__(self, name: str, role: str, env: dict[str, str], workdir: Path) -> None:
        self.name, self.role, self.env, self.workdir = name, role, env, workdir
        self.port = free_port()
        self.log = workdir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.kills = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def events_url(self) -> str:
        return f"{self.url}/slack/events"

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> Host:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [LABELBOT, "serve", "--role", self.role, "--port", str(self.port), "--log-level", "info"],
                env=self.env,
                cwd=self.workdir,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return self

    def ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def readiness(self) -> int | None:
        """``/readyz``'s status, None when nothing answers."""
        try:
            return httpx.get(f"{self.url}/readyz", timeout=15).status_code
        except httpx.HTTPError:
            return None

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        def up() -> bool:
            if not self.alive:
                raise AssertionError(f"{self.name} stopped:\n{self.tail()}")
            return self.ready()

        wait_until(up, timeout, f"{self.name} ready")

    def kill(self) -> None:
        """``kill -9``."""
        if self.proc is not None and self.alive:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
            self.kills += 1

    def restart(self) -> None:
        self.kill()
        self.start().wait_ready()

    def stop(self) -> None:
        if self.proc is not None and self.alive:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


class Balancer:
    """Round-robin over the web hosts that are up (a process that is not running is skipped,
    as a load balancer's health check would; one that dies mid-request fails that request)."""

    def __init__(self, slack: SlackEmulator, hosts: Sequence[Host]) -> None:
        self.slack, self.hosts = slack, list(hosts)
        self._next = 0

    def target(self) -> Host | None:
        for _ in range(len(self.hosts)):
            host = self.hosts[self._next % len(self.hosts)]
            self._next += 1
            if host.alive:
                return host
        return None

    def click(self, user: str, channel: str, ts: str, action_id: str) -> Delivery | None:
        """The click delivered to the next host up; None when none is."""
        host = self.target()
        if host is None:
            return None
        self.slack.deliver_to_http(host.events_url)
        return self.slack.click(user, channel, ts, action_id)
