"""The hottest statements, compiled once per database and run on the driver's cursor inside the session's transaction.

SQLAlchemy's execute (cache key, execution context, result object) cost more than SQLite took to run a
statement on the vote path, several times over. A Prepared statement is still built with SQLAlchemy Core from
the models' tables and compiled by SQLAlchemy for the database in use, so the SQL is the same; only the
running is done by hand: the parameters are put in the driver's form once per call, the rows come back as
tuples, and a driver error is raised as SQLAlchemy's, so a lock or timeout still answers 503.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Executable


class Prepared:
    """One Core statement compiled for one dialect, run with the connection's driver cursor."""

    def __init__(self, statement: Executable, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = compiled.string
        self.dialect = dialect
        # Literal values in the statement (count=1) are bound parameters too: their values are fixed here.
        self.fixed: dict[str, Any] = {name: value for name, value in compiled.construct_params(_check=False).items()
                                      if value is not None}
        self.order: Sequence[str] | None = compiled.positiontup if compiled.positional else None
        self.bind: dict[str, Callable[[Any], Any]] = {}
        for name, parameter in compiled.binds.items():
            processor = parameter.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                self.bind[name] = processor
        columns = getattr(statement, "exported_columns", ())
        self.results: list[Callable[[Any], Any] | None] = [
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns]
        self.convert = any(self.results)
        # Rows by column name as well as position, as SQLAlchemy's Row (templates read idea.title).
        self.record = namedtuple("Record", [column.key for column in columns], rename=True)  # type: ignore[misc]

    def _parameters(self, values: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        """The values in the driver's form: a tuple in order (SQLite) or a dict by name (psycopg)."""
        merged = {**self.fixed, **values} if self.fixed else dict(values)
        for name, processor in self.bind.items():
            if name in merged:
                merged[name] = processor(merged[name])
        if self.order is None:
            return merged
        return tuple(merged[name] for name in self.order)

    def rows(self, connection: Connection, values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Run the statement in the connection's transaction; the rows it returns (none for a plain write)."""
        parameters = self._parameters(values)
        driver = connection.connection.driver_connection
        try:
            cursor = driver.execute(self.sql, parameters)  # type: ignore[union-attr]
            found = cursor.fetchall() if cursor.description else []
        except self.dialect.loaded_dbapi.Error as exc:
            raise DBAPIError.instance(self.sql, parameters, exc, self.dialect.loaded_dbapi.Error,
                                      dialect=self.dialect) from exc
        if not self.convert:
            return found
        return [tuple(value if convert is None else convert(value) for value, convert in zip(row, self.results,
                                                                                          strict=True))
                for row in found]

    def first(self, connection: Connection, values: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The first row the statement returns, or None."""
        found = self.rows(connection, values)
        return found[0] if found else None

    def records(self, connection: Connection, values: Mapping[str, Any]) -> list[Any]:
        """The rows the statement returns, each readable by column name (row.title) and by position."""
        record = self.record
        return [record._make(row) for row in self.rows(connection, values)]


@lru_cache(maxsize=256)
def prepared(statement: Executable, dialect: Dialect) -> Prepared:
    """A built-once statement compiled for this database, once per process (statements and dialects are few)."""
    return Prepared(statement, dialect)
