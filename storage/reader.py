"""The read layer: every read of the dashboard, the CLI and the service's query methods comes here.

Two paths, both read-only by construction, both with user values as bound parameters:

- ``Reader.fetch`` runs a point query on the backend itself (SQLite opened ``mode=ro`` with
  ``query_only``; PostgreSQL in a read-only session), so it uses the backend's indexes: "top 10 of a
  study", "the Pareto front", "a page of runs sorted by fitness" touch a few index pages, not the
  table. Measured reasons for not sending these through DuckDB's attach: a DuckDB scan of an
  attached SQLite table does not push filters down (whole table per query); ``sqlite_query`` (DuckDB
  1.5.5) returns every column as VARCHAR with REALs printed to 15 digits (lossy); ``postgres_query``
  cannot take parameters over the binary protocol; and in an optimizer process that also writes,
  DuckDB's own copy of the SQLite library beside Python's is the "two SQLite copies in one process"
  hazard (POSIX locks released behind each other's back).
- ``Reader.analytics`` runs whole-table analytics and the dashboard's read-only SQL box in DuckDB
  (``storage.duck``: attached READ_ONLY, extensions offline, file access off, a time limit; a SQLite
  file is attached in a child process so the two SQLite copies never share a process).

A reader works in one project (``default`` unless told): the study queries keep to its studies, and
on PostgreSQL both paths carry ``app.project_id`` in the connection options, so row-level security
applies to every pooled connection. ``project_id=None`` reads a SQLite file whole (the one user's
SQL box) and, on PostgreSQL, sees no project's rows at all.

Nothing is cached across calls: each query sees what other processes committed before it started.
"""
from __future__ import annotations

import os
import time
from typing import Any, Mapping, Sequence

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.engine import Engine

from .duck import DuckSession
from .engine import DEFAULT_PROJECT, check_project_id, display_url, resolve_url, translate_error
from .errors import HiveError, StorageUnavailableError, ValidationError

DEFAULT_TIMEOUT_S = 30.0


class Reader:
    """Read-only access to one database. Thread-safe; cheap to keep for a process's lifetime."""

    def __init__(self, url_or_path: str | os.PathLike | None = None, *, project_id: str | None = DEFAULT_PROJECT,
                 timeout_s: float = DEFAULT_TIMEOUT_S, engine: Engine | None = None):
        self.url = resolve_url(url_or_path)
        self.project_id = project_id
        self.timeout_s = timeout_s
        self.backend = self.url.get_backend_name()
        if project_id is not None:
            check_project_id(project_id)  # refuse an unusable project id before any connection carries it
        # ``engine`` only for an in-memory SQLite database, which exists in one connection alone.
        self.engine = engine if engine is not None else self._read_only_engine()
        self._owns_engine = engine is None
        self._duck = DuckSession(self.url, project_id, timeout_s)
        if engine is None:
            try:
                self._check_schema()
            except BaseException:
                self.engine.dispose()
                raise

    def _check_schema(self) -> None:
        """Readers need the current schema too: say what to do instead of failing on a missing column."""
        from . import migrate
        from .engine import cli_argument
        from .errors import SchemaBehindError, SchemaError

        try:
            with self.engine.connect() as conn:
                state = migrate.inspect_schema(conn)
        except exc.DBAPIError as error:
            raise translate_error(error, self.engine) from error
        if state.kind == "current":
            return
        if state.kind in ("legacy", "behind"):
            raise SchemaBehindError(cli_argument(self.url), state.revision, state.head)
        if state.kind == "empty":
            raise SchemaError(
                f"database {display_url(self.url)} holds no hive schema yet: log a study into it, "
                f"or fill it with demo data: hive-cli demo {cli_argument(self.url)}"
            )
        raise SchemaError(f"database {display_url(self.url)} is not a hive database at this version ({state.kind})")

    def __repr__(self) -> str:
        return f"Reader({display_url(self.url)!r})"

    def close(self) -> None:
        if self._owns_engine:
            self.engine.dispose()
        self._duck.close()

    # ------------------------------------------------------------------------------- point path

    def _read_only_engine(self) -> Engine:
        if self.backend == "sqlite":
            database = self.url.database
            if not database or database == ":memory:":
                raise HiveError("the read layer needs a database file or server; ':memory:' has nothing to read")
            if not os.path.exists(database):
                raise StorageUnavailableError(f"database {database} does not exist")
            # mode=ro: SQLite refuses every write on this connection, whatever SQL arrives.
            url = sa.make_url(f"sqlite:///file:{database}?mode=ro&uri=true")
            engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

            @sa.event.listens_for(engine, "connect")
            def _read_only(dbapi_connection, _record):
                dbapi_connection.execute("PRAGMA query_only = ON")
                # SQLite's LOWER folds ASCII only; PostgreSQL's folds all of Unicode. Same results on both.
                dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)

            return engine
        options = "-c default_transaction_read_only=on"
        options += f" -c statement_timeout={int(self.timeout_s * 1000)}"
        if self.project_id is not None:
            options += f" -c app.project_id={check_project_id(self.project_id)}"
        # Every read runs in a transaction that is rolled back, so nothing a query sets (even
        # set_config) outlives it on the pooled connection. No pre-ping round trip: a connection the
        # server dropped is retried once in _execute.
        return sa.create_engine(
            self.url, connect_args={"options": options, "connect_timeout": 10, "application_name": "hive-reader"},
        )

    def _execute(self, sql: str, params: Mapping[str, Any] | None) -> tuple[list[str], list[tuple]]:
        for attempt in (1, 2):
            try:
                with self.engine.connect() as conn:
                    if self.backend == "sqlite":
                        _time_limit_sqlite(conn, self.timeout_s)
                    result = conn.execute(sa.text(sql), dict(params or {}))
                    # Plain tuples: pandas inspects every Row object through a slow attribute path.
                    return list(result.keys()), [tuple(row) for row in result.fetchall()]
            except exc.DBAPIError as error:
                if error.connection_invalidated and attempt == 1:
                    continue  # the server restarted since this pooled connection was opened
                raise self._point_error(error) from error
        raise AssertionError("unreachable")

    def fetch(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """A point query on the backend with named parameters (``:name``); returns a DataFrame."""
        columns, rows = self._execute(sql, params)
        return pd.DataFrame(rows, columns=columns)

    def fetch_columns(self, sql: str, params: Mapping[str, Any] | None = None) -> tuple[list[str], list[tuple]]:
        """Column names and rows as tuples, for callers that decode columns in bulk."""
        return self._execute(sql, params)

    def _point_error(self, error: exc.DBAPIError) -> HiveError:
        text = str(error.orig).lower()
        if "interrupted" in text or "statement timeout" in text or "canceling statement" in text:
            return HiveError(f"query stopped after its {self.timeout_s:g} s time limit")
        return translate_error(error, self.engine)

    def fetch_rows(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict]:
        """Like ``fetch`` but plain dicts (for the service's seed-style methods)."""
        columns, rows = self._execute(sql, params)
        return [dict(zip(columns, row)) for row in rows]

    # ---------------------------------------------------------------------------- DuckDB path

    def analytics(self, sql: str, params: Sequence[Any] | None = None, *, max_rows: int | None = None) -> pd.DataFrame:
        """DuckDB SQL over the attached database (tables as ``db.<table>``), positional ``?`` params.

        With ``max_rows``, at most ``max_rows + 1`` rows come back (so callers can tell truncation)."""
        return self._duck.query(sql, params or [], max_rows)


# Table functions a user query may call; everything else that reads files or other databases
# (sqlite_scan, postgres_query, read_csv, glob, query...) is refused, as are statements other than
# SELECT. DuckDB's own parser decides what the statement contains, not a regular expression.
ALLOWED_TABLE_FUNCTIONS = {"range", "generate_series", "unnest"}
REFUSED_FUNCTION_PREFIXES = ("sqlite_", "postgres_", "read_", "parquet_", "glob", "query", "getenv", "duckdb_")


def run_user_sql(reader: Reader, sql: str, max_rows: int = 10_000) -> tuple[pd.DataFrame, bool]:
    """The dashboard's SQL box: one read-only SELECT, at most ``max_rows`` rows, time-limited.

    Below this check writes are impossible anyway (READ_ONLY attach, file access off, configuration
    locked); the check refuses what DuckDB would still allow (scanning another SQLite file by path)
    and gives a clear message. Returns (rows, truncated)."""
    statement = sql.strip().rstrip(";").strip()
    if not statement:
        raise ValidationError("sql: empty query")
    for name in _called_functions(statement):
        if name.lower().startswith(REFUSED_FUNCTION_PREFIXES):
            raise ValidationError(f"sql: {name}() is not available here (it reads files or other databases)")
    frame = reader.analytics(statement, max_rows=max_rows)
    truncated = len(frame) > max_rows
    return frame.head(max_rows), truncated


def _called_functions(statement: str) -> list[str]:
    import json

    import duckdb

    parser = duckdb.connect(":memory:")
    try:
        tree = json.loads(parser.execute("SELECT json_serialize_sql(?)", [statement]).fetchone()[0])
    finally:
        parser.close()
    if tree.get("error"):
        message = tree.get("error_message", "")
        if "Only SELECT" in message:
            raise ValidationError(f"sql={statement[:60]!r}: only SELECT queries are allowed here")
        raise ValidationError(f"sql: {message}")
    if len(tree["statements"]) != 1:
        raise ValidationError("sql: one statement at a time")
    names: list[str] = []
    stack: list = [tree["statements"]]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "function_name" in node:
                names.append(node["function_name"])
                if node.get("type") == "TABLE_FUNCTION" and node["function_name"] not in ALLOWED_TABLE_FUNCTIONS:
                    raise ValidationError(f"sql: {node['function_name']}() is not available here")
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return names


def _unicode_lower(value):
    return value.lower() if isinstance(value, str) else value


def _time_limit_sqlite(conn, timeout_s: float) -> None:
    """SQLite has no statement timeout; a progress handler stops a query running past the limit."""
    raw = conn.connection.dbapi_connection
    deadline = time.monotonic() + timeout_s
    raw.set_progress_handler(lambda: 1 if time.monotonic() > deadline else 0, 10_000)
