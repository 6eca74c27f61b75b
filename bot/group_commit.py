"""Group commit: clicks that reach the event loop together are committed in one transaction.

On SQLite a click's transaction (a session, a pooled connection, ``BEGIN IMMEDIATE``, the
commit) cost the server as much CPU as the click's statements. The clicks the event loop
dispatches in one pass are therefore run one after another in one session and committed
once, and each is acknowledged only after that commit: an ack still means the label is
stored. Each click sees the ones before it (the session is flushed and cleared between
them), as it would with transactions of its own. When one fails, the group's transaction
is rolled back, whatever ran after the acks (the answers) is dropped, and every click of the
group runs again in a transaction of its own, so one bad click costs the others nothing but
time.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from storage.db import session_scope

__all__ = ["MAX_GROUP", "GroupCommit"]

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_GROUP = 32  # clicks per transaction: one pass of the loop at 32 concurrent clients


class _GroupFailed(Exception):
    """A click of the group failed inside the shared transaction."""


class _Open(threading.local):
    session: Session | None = None
    failed = False
    deferred: list[Callable[[], None]]

    def __init__(self) -> None:
        self.deferred = []


class GroupCommit:
    def __init__(self, factory: sessionmaker[Session], *, max_size: int = MAX_GROUP) -> None:
        self._factory = factory
        self._max_size = max_size
        self._pending: list[tuple[Callable[[], Any], asyncio.Future[Any]]] = []
        self._open = _Open()
        self.groups = 0  # transactions committed for more than one click, for tests and benchmarks

    async def run(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` (on the event loop) in the transaction of the current group; its result
        once that transaction is committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._pending.append((fn, future))
        if len(self._pending) == 1:
            loop.call_soon(self._flush)
        return await future

    @contextmanager
    def session(self) -> Iterator[Session]:
        """The click's transaction: the group's while one is being run in this thread, else a
        transaction of its own (``session_scope``)."""
        session = self._open.session
        if session is None:
            with session_scope(self._factory) as own:
                yield own
            return
        try:
            yield session
        except BaseException:
            self._open.failed = True
            raise

    def defer(self, fn: Callable[[], None]) -> bool:
        """Keep ``fn`` until the group's commit (dropped if the group fails); False outside a group."""
        if self._open.session is None:
            return False
        self._open.deferred.append(fn)
        return True

    def _flush(self) -> None:
        batch, self._pending = self._pending[: self._max_size], self._pending[self._max_size :]
        if self._pending:
            asyncio.get_running_loop().call_soon(self._flush)
        if len(batch) == 1:
            self._run_alone(*batch[0])
            return
        results: list[Any] = []
        deferred: list[Callable[[], None]] = []
        try:
            with session_scope(self._factory) as session:
                self._open.session, self._open.failed, self._open.deferred = session, False, deferred
                for fn, _ in batch:
                    results.append(fn())
                    if self._open.failed:
                        raise _GroupFailed
                    session.flush()
                    session.expunge_all()
        except Exception as exc:
            self._open.session = None
            log.warning(
                "a group of %d clicks was rolled back (%s); each runs alone", len(batch), type(exc).__name__
            )
            for fn, future in batch:
                self._run_alone(fn, future)
            return
        finally:
            self._open.session, self._open.deferred = None, []
        self.groups += 1
        log.debug("committed a group of %d clicks", len(batch))
        for (_, future), result in zip(batch, results, strict=True):
            if not future.cancelled():
                future.set_result(result)
        loop = asyncio.get_running_loop()
        for fn in deferred:
            loop.call_soon(fn)

    @staticmethod
    def _run_alone(fn: Callable[[], Any], future: asyncio.Future[Any]) -> None:
        try:
            result = fn()
        except Exception as exc:
            if not future.cancelled():
                future.set_exception(exc)
            return
        if not future.cancelled():
            future.set_result(result)
