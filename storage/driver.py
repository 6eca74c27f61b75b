"""Statements run on PostgreSQL through the driver itself: the label click's lock, read and write.

A label click on PostgreSQL is two statements after its group's lock (``bot.labeling``). Through
``Session.execute`` each cost the bot twice the driver's own CPU: SQLAlchemy builds an execution context per
execution and, for a read, its result's metadata from the cursor's description (psycopg makes a
column object per column per execution; the click's read has 30). A :class:`DriverStatement` is
compiled by SQLAlchemy once per dialect and run on the session's own connection, in its
transaction, with SQLAlchemy's type processing applied as it would be (bind and result
processors: aware UTC datetimes, JSON), and a driver error raised as SQLAlchemy's, a lost
connection invalidated. Callers get what ``Session.execute`` would give them, rows with the same
values and attribute names (the tests compare the two). CPU per execution (PostgreSQL 15 on
loopback, 2026-12-03): the click's read 226 -> 111 µs, its write 170 -> 101 µs. Other
dialects run the statement through ``Session.execute``: SQLite runs in-process, nothing to save.
"""

from __future__ import annotations

import threading
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement, Executable
from sqlalchemy.sql.compiler import SQLCompiler

__all__ = ["DriverStatement"]

_Process = Callable[[Any], Any]


@dataclass(frozen=True)
class _Compiled:
    sql: str
    constants: dict[str, Any]  # the statement's own bound values (literals SQLAlchemy binds)
    binds: tuple[tuple[str, _Process], ...]  # parameters that SQLAlchemy converts on the way in
    types: tuple[Any, ...]  # the result columns' SQLAlchemy types (a read)
    row: Any  # the rows' named tuple class (None: no rows)


class DriverStatement:
    """A Core statement that runs on PostgreSQL without SQLAlchemy's per-execution work.

    Only for statements with plain named parameters that give every column they write: one that
    SQLAlchemy expands or completes at execution (``IN`` lists, ``literal_execute``, a column's
    Python-side default) is refused when first compiled.
    """

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}
        # Result columns converted on the way out, by dialect: known at the first result, since a
        # type's converter may depend on the driver's type code for the column.
        self._results: dict[str, tuple[tuple[int, _Process], ...]] = {}
        self._lock = threading.Lock()

    def rows(self, session: Session, params: Mapping[str, Any]) -> Sequence[Any]:
        """The result rows: attribute access by column name, as SQLAlchemy's ``Row``."""
        return self._run(session, params, fetch=True)

    def execute(self, session: Session, params: Mapping[str, Any]) -> None:
        self._run(session, params, fetch=False)

    def _run(self, session: Session, params: Mapping[str, Any], *, fetch: bool) -> Sequence[Any]:
        connection = session.connection()
        dialect = connection.dialect
        if session.autoflush:
            session.flush()  # as Session.execute would: the statement sees the session's changes
        if dialect.name != "postgresql":
            result = session.execute(self.statement, dict(params))
            return result.all() if fetch else ()
        compiled = self._compiled.get(dialect.name) or self._compile(dialect)
        values = {**compiled.constants, **params}
        for name, process in compiled.binds:
            values[name] = process(values[name])
        driver = connection.connection.driver_connection
        assert driver is not None
        cursor = driver.cursor()
        try:
            cursor.execute(compiled.sql, values)
            if not fetch or compiled.row is None:
                return ()
            fetched = cursor.fetchall()
            results = self._results.get(dialect.name)
            if results is None:
                results = self._result_processors(dialect, compiled, cursor.description)
        except dialect.loaded_dbapi.Error as exc:
            invalidated = dialect.is_disconnect(exc, driver, cursor)
            if invalidated:
                connection.invalidate(exc)
            raise DBAPIError.instance(
                compiled.sql,
                values,
                exc,
                dialect.loaded_dbapi.Error,
                connection_invalidated=invalidated,
                dialect=dialect,
            ) from exc
        finally:
            cursor.close()
        return _made(compiled.row, fetched, results)

    def _compile(self, dialect: Dialect) -> _Compiled:
        with self._lock:
            found = self._compiled.get(dialect.name)
            if found is not None:
                return found
            compiled = cast(SQLCompiler, cast(ClauseElement, self.statement).compile(dialect=dialect))
            if compiled.positional or compiled.post_compile_params or compiled.literal_execute_params:
                raise ValueError("a DriverStatement takes only plain named parameters")
            if compiled.insert_prefetch or compiled.update_prefetch:  # Python-side column defaults
                raise ValueError("a DriverStatement's statement must give every column it writes")
            binds: dict[str, _Process] = {}  # by name: a parameter used twice is converted once
            for bind, name in compiled.bind_names.items():
                process = bind.type.dialect_impl(dialect).bind_processor(dialect)
                if process is not None:
                    binds[name] = process
            row_class: Any = None
            types: tuple[Any, ...] = ()
            if isinstance(self.statement, Select):
                columns = list(self.statement.selected_columns)
                row_class = namedtuple("DriverRow", [str(column.key) for column in columns])  # type: ignore[misc,no-redef]
                types = tuple(column.type for column in columns)
            made = _Compiled(compiled.string, dict(compiled.params), tuple(binds.items()), types, row_class)
            self._compiled[dialect.name] = made
            return made

    def _result_processors(
        self, dialect: Dialect, compiled: _Compiled, description: Any
    ) -> tuple[tuple[int, _Process], ...]:
        if len(description) != len(compiled.types):
            raise ValueError(f"expected {len(compiled.types)} result columns, got {len(description)}")
        results = []
        for index, (type_, column) in enumerate(zip(compiled.types, description, strict=True)):
            process = type_.dialect_impl(dialect).result_processor(dialect, column.type_code)
            if process is not None:
                results.append((index, process))
        self._results[dialect.name] = found = tuple(results)
        return found


def _made(row: Any, fetched: list[tuple[Any, ...]], results: tuple[tuple[int, _Process], ...]) -> list[Any]:
    """The fetched rows as named tuples, their columns converted as SQLAlchemy would."""
    if not results:
        return [row._make(values) for values in fetched]
    out = []
    for values in fetched:
        converted = list(values)
        for index, process in results:
            converted[index] = process(converted[index])
        out.append(row._make(converted))
    return out
