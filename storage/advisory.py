"""PostgreSQL advisory locks held by a process: one poster per Slack channel across all hosts.

Each lock is ``pg_try_advisory_lock(key)`` on one dedicated connection (autocommit: no transaction
stays open), with ``key`` a stable 64-bit hash of its name (``channel:C0LABELS``). A session lock
lasts as long as that connection: the holder keeps a channel until it stops or its connection
dies, when PostgreSQL releases every lock it held and another host's next try takes them. So the
holder calls :meth:`AdvisoryLocks.check` before each round of work: a connection that no longer
answers means its locks may be someone else's now, and they are forgotten until taken again.

SQLite is one host by definition (one writer, one file): there every lock is held at once.
"""

from __future__ import annotations

import hashlib
import logging
import threading

from sqlalchemy import Connection, Engine, text

__all__ = ["AdvisoryLocks", "lock_key"]

log = logging.getLogger(__name__)


def lock_key(name: str) -> int:
    """A signed 64-bit key for ``name``, the same in every process and on every host."""
    digest = hashlib.blake2b(f"labelbot:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class AdvisoryLocks:
    """The named locks this process holds; thread-safe (the dispatcher and the scheduler share it)."""

    def __init__(self, bind: Engine | Connection | None) -> None:
        # A session bound to a connection (a test's outer transaction) has no pool to take a
        # dedicated connection from: like SQLite, it is one process's database.
        self.engine = bind if isinstance(bind, Engine) else None
        self.enabled = self.engine is not None and self.engine.dialect.name == "postgresql"
        self._conn: Connection | None = None
        self._held: set[str] = set()
        self._guard = threading.Lock()

    def hold(self, name: str) -> bool:
        """True when this process holds ``name``'s lock (taking it now if it is free)."""
        if not self.enabled:
            return True
        with self._guard:
            if name in self._held:
                return True
            try:
                conn = self._connection()
                got = bool(
                    conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": lock_key(name)}).scalar()
                )
            except Exception as exc:  # the database is away: hold nothing, try again next time
                self._lost(exc)
                return False
            if got:
                self._held.add(name)
                log.info("this process now posts for %s", name)
            return got

    def held(self) -> frozenset[str]:
        with self._guard:
            return frozenset(self._held)

    def check(self) -> bool:
        """Whether the lock connection still answers; if not, every lock is forgotten (the server
        released them with the connection). True on SQLite."""
        if not self.enabled:
            return True
        with self._guard:
            if self._conn is None:
                return True
            try:
                self._conn.execute(text("SELECT 1"))
                return True
            except Exception as exc:
                self._lost(exc)
                return False

    def release(self, name: str) -> None:
        with self._guard:
            if name not in self._held or self._conn is None:
                return
            self._held.discard(name)
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": lock_key(name)})
            except Exception as exc:
                self._lost(exc)

    def close(self) -> None:
        """Release every lock (closing the connection does)."""
        with self._guard:
            self._held.clear()
            if self._conn is not None:
                try:  # unlocked now (the server ends a closed session a moment later), then
                    # invalidated, not returned to the pool: the session ends too
                    self._conn.execute(text("SELECT pg_advisory_unlock_all()"))
                    self._conn.invalidate()
                    self._conn.close()
                except Exception:
                    log.debug("closing the advisory lock connection failed", exc_info=True)
                self._conn = None

    def _connection(self) -> Connection:
        if self._conn is None:
            if self.engine is None:
                raise RuntimeError("advisory locks need an engine")
            self._conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        return self._conn

    def _lost(self, exc: BaseException) -> None:
        if self._held:
            log.warning(
                "the database connection holding %d posting lock(s) failed (%s); they are released "
                "and taken again when it answers",
                len(self._held),
                type(exc).__name__,
            )
        self._held.clear()
        if self._conn is not None:
            try:
                self._conn.invalidate()
                self._conn.close()
            except Exception:
                log.debug("discarding the advisory lock connection failed", exc_info=True)
            self._conn = None
