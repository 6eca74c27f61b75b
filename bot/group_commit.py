"""Group commit: clicks that arrive together are committed in one transaction.

A click's transaction (a session, a pooled connection, its BEGIN and COMMIT, on PostgreSQL a
pre-ping and three round trips) cost the server as much CPU as the click's statements. Clicks
waiting together are therefore run one after another in one session and committed once, and
each is acknowledged only after that commit: an ack still means the label is stored. Each click
sees the ones before it (the session is flushed and cleared between them), as it would with
transactions of its own. When one fails, the group's transaction is rolled back, whatever ran
after the acks (the answers) is dropped, and every click of the group runs again in a
transaction of its own, so one bad click costs the others nothing but time.

Where a group runs:

* on the event loop (SQLite): the clicks the loop dispatches in one pass form a group. A SQLite
  click never waits on a network, and skipping the hand-over to a thread was worth ~10%.
* in ``threads`` threads (PostgreSQL): a group waits for the database's round trips, so it runs
  off the loop, which meanwhile reads, checks and queues the next clicks. A click waiting while a
  thread is free starts a group at once; while every thread is busy, the clicks that arrive form
  the next group. Groups grow with the database's latency instead of transactions piling up.

The clicks of a group run in the order of their ``order`` key (the item id): groups committed at
once (by threads or processes) lock their items in ascending order, so they cannot deadlock one
another; a deadlock with some other transaction fails the group, whose clicks then run alone.
A ``prepare`` hook runs first in each group's transaction with those keys: on PostgreSQL it locks
the group's items in one statement, so that each click then needs fewer (``bot.labeling.lock_items``).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
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


@dataclass
class _Click:
    order: int
    fn: Callable[[], Any]
    future: asyncio.Future[Any]


# A click's outcome: (True, its result) or (False, the exception it raised).
_Outcome = tuple[bool, Any]


class GroupCommit:
    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        max_size: int = MAX_GROUP,
        threads: int = 0,
        prepare: Callable[[Session, list[int]], None] | None = None,
    ) -> None:
        self._factory = factory
        self._prepare = prepare  # run first in a group's transaction, with its clicks' order keys
        self._max_size = max_size
        self._threads = threads  # 0: groups run on the event loop
        self._pool: ThreadPoolExecutor | None = None  # made at the first group (threads)
        self._running = 0  # groups being committed in the threads
        self._pending: list[_Click] = []
        self._open = _Open()
        self.groups = 0  # transactions committed for more than one click, for tests and benchmarks

    async def run(self, fn: Callable[[], T], order: int = 0) -> T:
        """Run ``fn`` in the transaction of the current group (on the event loop, or in the group's
        thread); its result once that transaction is committed. ``order`` sorts a group's clicks."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._pending.append(_Click(order, fn, future))
        if len(self._pending) == 1 and self._free():
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

    def close(self) -> None:
        """Stop the groups' threads (they finish the groups in progress)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    # -- the loop's side ---------------------------------------------------------------------------
    def _free(self) -> bool:
        return self._threads == 0 or self._running < self._threads

    def _flush(self) -> None:
        if not self._pending or not self._free():
            return
        loop = asyncio.get_running_loop()
        batch, self._pending = self._pending[: self._max_size], self._pending[self._max_size :]
        batch.sort(key=lambda click: click.order)  # stable: one user's clicks keep their order
        fns = [click.fn for click in batch]
        if self._threads == 0:
            if self._pending:
                loop.call_soon(self._flush)
            self._settle(batch, *self._commit(fns, [click.order for click in batch]))
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._threads, thread_name_prefix="group-commit")
        self._running += 1
        done = loop.run_in_executor(self._pool, self._commit, fns, [click.order for click in batch])
        done.add_done_callback(lambda committed: self._committed(batch, committed))
        if self._pending and self._free():
            loop.call_soon(self._flush)

    def _committed(self, batch: list[_Click], committed: asyncio.Future[Any]) -> None:
        self._running -= 1
        if committed.cancelled() or committed.exception() is not None:
            exc = (
                RuntimeError("the group's thread stopped") if committed.cancelled() else committed.exception()
            )
            self._settle(batch, [(False, exc)] * len(batch), [])
        else:
            self._settle(batch, *committed.result())
        if self._pending:
            asyncio.get_running_loop().call_soon(self._flush)

    @staticmethod
    def _settle(batch: list[_Click], outcomes: list[_Outcome], deferred: list[Callable[[], None]]) -> None:
        """Answer each click of a committed (or failed) group, then run what waited for the commit."""
        for click, (ok, value) in zip(batch, outcomes, strict=True):
            if click.future.cancelled():
                continue
            if ok:
                click.future.set_result(value)
            else:
                click.future.set_exception(value)
        loop = asyncio.get_running_loop()
        for fn in deferred:
            loop.call_soon(fn)

    # -- the group's transaction (on the loop, or in the group's thread) --------------------------
    def _commit(
        self, fns: list[Callable[[], Any]], orders: list[int]
    ) -> tuple[list[_Outcome], list[Callable[[], None]]]:
        """Run ``fns`` in one transaction (after ``prepare`` with their ``orders``): their outcomes,
        and what they deferred until the commit."""
        if len(fns) == 1 and self._threads == 0:
            return [self._alone(fns[0])], []  # its answer goes to the loop without waiting
        results: list[Any] = []
        deferred: list[Callable[[], None]] = []
        try:
            with session_scope(self._factory) as session:
                self._open.session, self._open.failed, self._open.deferred = session, False, deferred
                if self._prepare is not None:
                    self._prepare(session, orders)
                for fn in fns:
                    results.append(fn())
                    if self._open.failed:
                        raise _GroupFailed
                    session.flush()
                    session.expunge_all()
        except Exception as exc:
            self._open.session = None
            log.warning(
                "a group of %d clicks was rolled back (%s); each runs alone", len(fns), type(exc).__name__
            )
            return [self._alone(fn) for fn in fns], []
        finally:
            self._open.session, self._open.deferred = None, []
        self.groups += len(fns) > 1
        log.debug("committed a group of %d clicks", len(fns))
        return [(True, result) for result in results], deferred

    @staticmethod
    def _alone(fn: Callable[[], Any]) -> _Outcome:
        try:
            return True, fn()
        except Exception as exc:
            return False, exc
