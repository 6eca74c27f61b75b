"""Bulk SQL: many rows at once, below the ORM, where SQLAlchemy's per-row work is the cost.

Each function names what it writes or reads; the SQL (``executemany`` through the driver,
PostgreSQL's COPY, SQLite's ``group_concat`` columns) lives here and nowhere else. Values
are converted by each column type's own bind processor, as SQLAlchemy would convert them.

Writers that take a ``sessionmaker`` commit in short transactions of their own, so that
label clicks get the database between two batches: a million rows in one transaction would
hold SQLite's write lock (or PostgreSQL's row locks, which a click takes) for seconds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, cast

import numpy as np
import numpy.typing as npt
from sqlalchemy import Integer, Table, delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from storage.db import changed, driver_mark, read_scope, session_scope
from storage.models import Base, DispatchRank, Item, Project, utcnow

__all__ = [
    "RANK_BATCH",
    "SCORE_BATCH",
    "SCORE_BATCH_PG",
    "SCORE_PAUSE_MAX",
    "insert_rows",
    "read_columns",
    "store_scores",
    "write_ranking",
]

log = logging.getLogger(__name__)
SCORE_BATCH = 1_000  # rows per transaction when storing scores: 10-40 ms of SQLite's write lock
# PostgreSQL locks rows, not the database: larger batches, each ~50 ms of row locks on 5,000 items
# (200,000 items' scores: 1,000 a batch 3.1 s, 5,000 2.0-2.3 s, 10,000 2.1-2.5 s).
SCORE_BATCH_PG = 5_000
RANK_BATCH = 10_000  # rank rows per transaction: appends to one end of the key, ~10 ms each
RANK_COLUMNS = ("project_id", "run", "rank", "item_id")
# SQLite: the pause after a batch, as long as the batch held the lock but at most this. Storing
# 1M items' scores and then their ranking beside a process writing every 10 ms
# (benchmarks/score_store_contention.py): no pause 4.5 + 2.6 s (that writer's waits: p99 106 ms,
# max 1.1 s), 10 ms 9.5 + 5.0 s (p99 20 ms, max 56 ms).
SCORE_PAUSE_MAX = 0.01
# The id last: the WHERE of the per-row UPDATE binds it after the values.
SCORE_COLUMNS = ("model_label", "model_confidence", "priority", "model_version", "updated_at", "id")
SCORE_STAGE = "labelbot_score_stage"
#: Between concatenated text values on SQLite: the ASCII unit separator, which no Slack
#: id, label slug or imported user id (no whitespace, and Python counts it as whitespace)
#: contains. A value that does contain it is caught by the count check: that chunk is then
#: read as rows.
_SEPARATOR = "\x1f"
#: Rows per concatenated chunk, well below SQLite's 1 GB limit on a string.
_CHUNK_ROWS = 2_000_000


# -- inserts in the caller's transaction ---------------------------------------------------------
def insert_rows(
    session: Session,
    model: type[Base],
    rows: list[dict[str, Any]],
    on_progress: Callable[[int, int], None] | None = None,
) -> None:
    """Insert rows (dicts with the same keys) into ``model``'s table through the driver's
    ``executemany``, 10,000 at a time, in the session's transaction.

    Each column's values go through that column type's own bind processor (JSON, UTC datetimes,
    booleans), once per distinct value object; SQLAlchemy's own per-row parameter handling took
    3.7 of the 10 s that importing 100,000 items took. ``on_progress(done, total)`` is called
    after each batch.
    """
    if not rows:
        return
    table = cast(Table, model.__table__)
    connection = session.connection()
    dialect = connection.dialect
    names = list(rows[0])
    columns: list[list[Any]] = []
    for name in names:
        values = [row[name] for row in rows]
        process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            seen: dict[int, Any] = {}  # the same object (one timestamp for a whole import) once
            values = [seen[id(v)] if id(v) in seen else seen.setdefault(id(v), process(v)) for v in values]
        columns.append(values)
    mark = driver_mark(dialect)
    quote = dialect.identifier_preparer.quote
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(map(quote, names))}) "
        f"VALUES ({', '.join([mark] * len(names))})"
    )
    tuples = list(zip(*columns, strict=True))
    for start in range(0, len(tuples), 10_000):
        connection.exec_driver_sql(sql, tuples[start : start + 10_000])
        if on_progress is not None:
            on_progress(min(start + 10_000, len(tuples)), len(tuples))


# -- model scores and rankings, in short transactions of their own -------------------------------
def store_scores(
    factory: sessionmaker[Session],
    ids: Sequence[int] | npt.NDArray[Any],
    labels: Sequence[str] | npt.NDArray[Any],
    confidence: Sequence[float] | npt.NDArray[Any],
    priority: Sequence[float] | npt.NDArray[Any],
    version: int,
) -> None:
    """Store each item's suggested label, confidence and priority, in short transactions.

    None of these columns is indexed, so items given in id order are updated page by page.
    Scores are advice, so an interrupted run may leave some items with the previous version's.
    On SQLite the writer also pauses briefly after each batch (``SCORE_PAUSE_MAX``): a waiting
    click polls from SQLite's busy handler, and a writer that took the lock straight back would
    starve it.

    The rows go to the driver's ``executemany`` directly: SQLAlchemy's per-row parameter
    processing made this write 5x slower (2.6 s against 0.5 s per 100,000 rows on SQLite), and
    the statement only binds strings, numbers and one timestamp, converted here as SQLAlchemy would.
    """
    dialect = _dialect(factory)
    to_db = Item.__table__.c.updated_at.type.dialect_impl(dialect).bind_processor(dialect)
    now = to_db(utcnow()) if to_db else utcnow()
    rows = list(  # in SCORE_COLUMNS' order
        zip(
            [str(v) for v in labels],
            np.asarray(confidence, dtype=float).tolist(),
            np.asarray(priority, dtype=float).tolist(),
            [int(version)] * len(ids),
            [now] * len(ids),
            np.asarray(ids, dtype=np.int64).tolist(),
            strict=True,
        )
    )
    if dialect.name == "postgresql":
        _store_scores_by_copy(factory, rows)
        return
    mark = driver_mark(dialect)
    *values, key = SCORE_COLUMNS
    sql = f"UPDATE {Item.__tablename__} SET {', '.join(f'{n} = {mark}' for n in values)} WHERE {key} = {mark}"
    _in_batches(
        factory, rows, SCORE_BATCH, lambda session, chunk: session.connection().exec_driver_sql(sql, chunk)
    )


def _store_scores_by_copy(factory: sessionmaker[Session], rows: list[tuple[Any, ...]]) -> None:
    """PostgreSQL: each batch is COPYed into a temporary table and applied by one UPDATE ... FROM.

    ``executemany`` (one UPDATE per row, 1,000 a transaction) stored 200,000 items' scores in
    6.2 s; this path with 5,000-row batches, on items with free room per page (migration 0003),
    in 2.0-2.3 s. The stage table is the connection's own and empties itself at each commit, so
    a batch sees only its rows.
    """
    names = ", ".join(SCORE_COLUMNS)
    assignments = ", ".join(f"{n} = s.{n}" for n in SCORE_COLUMNS if n != "id")
    items = Item.__tablename__

    def apply(session: Session, chunk: list[tuple[Any, ...]]) -> None:
        cursor = _driver_cursor(session)
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {SCORE_STAGE} ON COMMIT DELETE ROWS AS "
            f"SELECT {names} FROM {items} WITH NO DATA"
        )
        with cursor.copy(f"COPY {SCORE_STAGE} ({names}) FROM STDIN") as out:
            for row in chunk:
                out.write_row(row)
        cursor.execute(f"UPDATE {items} SET {assignments} FROM {SCORE_STAGE} s WHERE {items}.id = s.id")

    _in_batches(factory, rows, SCORE_BATCH_PG, apply)


def write_ranking(factory: sessionmaker[Session], project_id: int, ordered_ids: Sequence[int]) -> int:
    """Write ``ordered_ids`` (the first is asked first) as a new ranking, make dispatch follow it,
    and delete the older ones; return the new run's number.

    The rows go in rank order under a new run number, so each batch appends to the end of the
    primary key; dispatch keeps following the previous run until the last row is in, then one
    conditional UPDATE switches it over, and the older runs are deleted behind, in key ranges.
    Of two rankings written at once, the newer run wins and the other deletes its own rows. An
    interrupted run leaves rows that no dispatch reads; the next completed ranking deletes them.
    """
    with session_scope(factory) as session:
        run = session.execute(
            update(Project)
            .where(Project.id == project_id)
            .values(score_runs=Project.score_runs + 1)
            .returning(Project.score_runs)
        ).scalar_one()
    n = len(ordered_ids)
    rows = list(zip([project_id] * n, [run] * n, range(n), [int(i) for i in ordered_ids], strict=True))
    _insert_batches(factory, DispatchRank.__tablename__, RANK_COLUMNS, rows, RANK_BATCH)
    with session_scope(factory) as session:
        switched = changed(
            session.execute(
                update(Project)
                .where(
                    Project.id == project_id, (Project.dispatch_run.is_(None)) | (Project.dispatch_run < run)
                )
                .values(dispatch_run=run)
                .execution_options(synchronize_session=False)
            )
        )
    if not switched:
        log.info("ranking run %s of project %s was overtaken by a newer one; deleting it", run, project_id)
    _delete_runs(factory, project_id, run if not switched else None)
    return int(run)


def _delete_runs(factory: sessionmaker[Session], project_id: int, run: int | None) -> None:
    """Delete ranking ``run`` (or, with None, every run older than the one dispatch follows),
    ``RANK_BATCH`` ranks per transaction: each a contiguous range of the primary key."""
    r = DispatchRank
    while True:
        with read_scope(factory) as session:
            if run is None:
                current = select(Project.dispatch_run).where(Project.id == project_id).scalar_subquery()
                stale = session.scalar(
                    select(func.min(r.run)).where(r.project_id == project_id, r.run < current)
                )
            else:
                stale = session.scalar(select(r.run).where(r.project_id == project_id, r.run == run).limit(1))
            if stale is None:
                return
            last = session.scalar(select(func.max(r.rank)).where(r.project_id == project_id, r.run == stale))
        for start in range(0, (last or 0) + 1, RANK_BATCH):
            began = time.perf_counter()
            with session_scope(factory) as session:
                session.execute(
                    delete(r).where(r.project_id == project_id, r.run == stale, r.rank < start + RANK_BATCH)
                )
            _pause_after(factory, began)
        if run is not None:
            return


def _insert_batches(
    factory: sessionmaker[Session],
    table: str,
    columns: Sequence[str],
    rows: list[tuple[Any, ...]],
    batch: int,
) -> None:
    """Insert ``rows`` into ``table``, ``batch`` per transaction; on PostgreSQL through COPY, which
    wrote a 200,000-row ranking in 1.2 s against 4.5 s for ``executemany``."""
    dialect = _dialect(factory)
    names = ", ".join(columns)
    if dialect.name != "postgresql":
        marks = ", ".join([driver_mark(dialect)] * len(columns))
        sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"
        _in_batches(
            factory, rows, batch, lambda session, chunk: session.connection().exec_driver_sql(sql, chunk)
        )
        return

    def copy(session: Session, chunk: list[tuple[Any, ...]]) -> None:
        with _driver_cursor(session).copy(f"COPY {table} ({names}) FROM STDIN") as out:
            for row in chunk:
                out.write_row(row)

    _in_batches(factory, rows, batch, copy)


def _in_batches(
    factory: sessionmaker[Session],
    rows: list[tuple[Any, ...]],
    batch: int,
    write: Callable[[Session, list[tuple[Any, ...]]], Any],
) -> None:
    """One transaction per ``batch`` rows, each followed by :func:`_pause_after`."""
    for start in range(0, len(rows), batch):
        began = time.perf_counter()
        with session_scope(factory) as session:
            write(session, rows[start : start + batch])
        _pause_after(factory, began)


def _pause_after(factory: sessionmaker[Session], began: float) -> None:
    """On SQLite, after a write transaction that began at ``began``: sleep as long as it held the
    lock, at most ``SCORE_PAUSE_MAX``. A click waiting for the lock polls from SQLite's busy
    handler, and a writer that took the lock straight back would starve it (a back-to-back
    delete of a million ranks held another process's write up for 1.3 s)."""
    if _dialect(factory).name == "sqlite":
        time.sleep(min(time.perf_counter() - began, SCORE_PAUSE_MAX))


def _dialect(factory: sessionmaker[Session]) -> Any:
    return factory.kw["bind"].dialect


def _driver_cursor(session: Session) -> Any:
    """The driver's own cursor (psycopg's, for COPY) on the session's connection."""
    return session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]


# -- columnar reads ------------------------------------------------------------------------------
def read_columns(session: Session, key: Any, columns: list[Any], where: list[Any]) -> list[npt.NDArray[Any]]:
    """The values of ``columns`` in the rows matching ``where``, one array per column.

    Integer columns come back as int64 arrays, the others as object arrays. On SQLite
    a text NULL comes back as the empty string (no column read here holds empty strings
    otherwise), elsewhere as None.

    On SQLite, per chunk of rows by the integer primary key ``key``, one aggregate row
    carries the row count and each column's ``group_concat``: splitting a few strings costs
    a fraction of fetching a million result rows. The aggregates of one query are fed
    row by row in a single pass, so their pieces line up; piece counts are checked against
    the row count all the same. Other databases: plain rows.
    """
    integer = [isinstance(column.type, Integer) for column in columns]

    def arrays(parts: list[list[Any]]) -> list[npt.NDArray[Any]]:
        return [np.asarray(p, dtype=np.int64 if i else object) for p, i in zip(parts, integer, strict=True)]

    def rows(where: list[Any]) -> list[list[Any]]:
        result = session.execute(select(*columns).where(*where)).all()
        return [list(column) for column in zip(*result, strict=True)] if result else [[] for _ in columns]

    if session.get_bind().dialect.name != "sqlite":
        return arrays(rows(where))
    # Two statements: SQLite answers each from one end of the primary key, both at once by a scan.
    low, high = session.scalar(select(func.min(key))), session.scalar(select(func.max(key)))
    if low is None or high is None:
        return arrays([[] for _ in columns])
    chunks: list[list[npt.NDArray[Any]]] = []

    def text(column: Any) -> Any:
        nullable = getattr(getattr(column, "expression", column), "nullable", True)
        return func.coalesce(column, "") if nullable else column

    aggregate = [func.count()] + [
        func.group_concat(column, ",") if is_int else func.group_concat(text(column), _SEPARATOR)
        for column, is_int in zip(columns, integer, strict=True)
    ]
    for start in range(int(low), int(high) + 1, _CHUNK_ROWS):
        chunk = [*where, key >= start, key < start + _CHUNK_ROWS]
        count, *texts = session.execute(select(*aggregate).where(*chunk)).one()
        if not count:
            continue
        parts = [_split(text, i) for text, i in zip(texts, integer, strict=True) if text is not None]
        if len(parts) == len(columns) and all(len(part) == count for part in parts):
            chunks.append(parts)
        else:  # a separator inside a value (or an integer NULL): this chunk as rows
            chunks.append(arrays(rows(chunk)))
    if not chunks:
        return arrays([[] for _ in columns])
    return [np.concatenate(column) for column in zip(*chunks, strict=True)]


def _split(text: str, integer: bool) -> npt.NDArray[Any]:
    if integer:
        return np.fromstring(text, dtype=np.int64, sep=",")
    return np.array(text.split(_SEPARATOR), dtype=object)
