"""A web host without its database gives its Socket Mode connection up, so Slack sends elsewhere.

Slack hands each envelope to one of the app's open connections (at most 10, across all hosts). A
host whose database is unreachable would take its share and answer each with an error; closing its
connection leaves those envelopes to the hosts that can record them. The guard checks the database
every ``interval`` seconds (each check bounded by ``timeout``: a check that hangs counts as a
failure); after ``failures`` failed checks in a row it closes the connection and keeps slack_sdk
from reopening it, and at the first check that succeeds again it opens a new one. Worker processes
(``serve --role worker``) open no connection, so they have no guard.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
from collections.abc import Callable

from slack_sdk.socket_mode.builtin import SocketModeClient
from sqlalchemy import Engine, text

__all__ = ["FAILURES", "INTERVAL", "SocketGuard", "database_answers"]

log = logging.getLogger(__name__)
INTERVAL = 5.0  # seconds between checks: a host without its database closes within ~15 s
FAILURES = 3


def database_answers(engine: Engine) -> Callable[[], bool]:
    """The guard's check: ``SELECT 1`` on a pooled connection (pre-pinged on PostgreSQL)."""

    def check() -> bool:
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception as exc:
            log.warning("database check failed: %s", type(exc).__name__)
            return False

    return check


class SocketGuard:
    def __init__(
        self,
        client: SocketModeClient,
        check: Callable[[], bool],
        *,
        failures: int = FAILURES,
        interval: float = INTERVAL,
        timeout: float = INTERVAL,
    ) -> None:
        if failures < 1:
            raise ValueError("failures must be at least 1")
        self.client, self.check, self.failures = client, check, failures
        self.interval, self.timeout = interval, timeout
        self.failed = 0  # checks failed in a row
        self.closed = False  # the connection is closed by this guard (not by Slack or the network)
        self._checker = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="labelbot-db-check")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> None:
        """One check, and what follows from it."""
        try:
            ok = self._checker.submit(self.check).result(timeout=self.timeout)
        except concurrent.futures.TimeoutError:
            ok = False
        if not ok:
            self.failed += 1
            if self.failed >= self.failures and not self.closed:
                self._close()
            return
        self.failed = 0
        if self.closed:
            self._reopen()

    def _close(self) -> None:
        log.error(
            "the database has not answered %d checks in a row: closing this host's Socket Mode "
            "connection so that Slack sends to the others",
            self.failed,
        )
        self.client.auto_reconnect_enabled = False  # slack_sdk would otherwise reconnect at once
        self.client.disconnect()
        self.closed = True

    def _reopen(self) -> None:
        try:
            self.client.connect_to_new_endpoint(force=True)
        except Exception as exc:  # Slack may refuse for now: the next check tries again
            log.warning("reopening the Socket Mode connection failed (%s); retrying", type(exc).__name__)
            return
        self.closed = False
        log.info("the database answers again: Socket Mode connection reopened")

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> SocketGuard:
        self._thread = threading.Thread(target=self._loop, name="labelbot-socket-guard", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.timeout + 1)
        self._checker.shutdown(wait=False, cancel_futures=True)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.tick()
            except Exception:
                log.exception("the Socket Mode guard's check failed; trying again")
