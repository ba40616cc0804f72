"""DuckDB over the database, READ_ONLY: whole-table analytics and the dashboard's SQL box.

The database is attached with the sqlite/postgres extension loaded offline from its pinned wheel
(never downloaded, never unsigned); after attaching, external file access, extension loading and
further configuration are switched off. Each query has a time limit.

A SQLite file is attached in a child process of its own. DuckDB's sqlite extension carries its own
copy of the SQLite library, and two copies of SQLite in one process do not see each other's POSIX
locks: measured here, a pysqlite reader in the same process went on reading an old snapshot after
another process committed, and a writer in the same process risks corrupting the file
(https://www.sqlite.org/howtocorrupt.html, "multiple copies of SQLite linked into the same
application"). The child holds DuckDB's copy; the calling process keeps Python's. PostgreSQL has
no such hazard and is attached in-process.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
from multiprocessing.connection import Connection
from typing import Any, Sequence

import pandas as pd
import sqlalchemy as sa

from .errors import HiveError, StorageUnavailableError, ValidationError

# The child answers within its own time limit; this much longer and it is presumed stuck.
_GRACE_S = 10.0
_ERRORS = {cls.__name__: cls for cls in (HiveError, StorageUnavailableError, ValidationError)}


class DuckSession:
    """One attached DuckDB for a Reader. Thread-safe."""

    def __init__(self, url: sa.URL, project_id: str | None, timeout_s: float):
        self.url, self.project_id, self.timeout_s = url, project_id, timeout_s
        self._lock = threading.Lock()
        self._in_process = None  # PostgreSQL: the DuckDB connection
        self._local = threading.local()
        self._child = None  # SQLite: (process, requests pipe, answers pipe)

    def query(self, sql: str, params: Sequence[Any], max_rows: int | None) -> pd.DataFrame:
        if self.url.get_backend_name() == "sqlite":
            return self._query_in_child(sql, list(params), max_rows)
        return _run(self._cursor(), sql, list(params), max_rows, self.timeout_s)

    def close(self) -> None:
        with self._lock:
            if self._in_process is not None:
                self._in_process.close()
                self._in_process = None
            self._stop_child()

    # ------------------------------------------------------------------ PostgreSQL, in-process

    def _cursor(self):
        with self._lock:
            if self._in_process is None:
                self._in_process = attach(self.url, self.project_id)
            owner = self._in_process
        cursor = getattr(self._local, "cursor", None)
        if cursor is None or getattr(self._local, "owner", None) is not owner:
            cursor = owner.cursor()
            cursor.execute("USE db")  # each cursor starts in DuckDB's own catalog
            self._local.cursor, self._local.owner = cursor, owner
        return cursor

    # ------------------------------------------------------------------- SQLite, in a child

    def _query_in_child(self, sql: str, params: list, max_rows: int | None) -> pd.DataFrame:
        with self._lock:  # one query at a time through the pipe
            try:
                _process, requests, answers = self._start_child()
                requests.send((sql, params, max_rows))
                if not answers.poll(self.timeout_s + _GRACE_S):
                    self._stop_child(kill=True)
                    raise HiveError(f"query stopped after its {self.timeout_s:g} s time limit")
                kind, payload = answers.recv()
            except (EOFError, OSError):
                self._stop_child(kill=True)
                raise HiveError("the analytics process ended unexpectedly; the next query starts a new one") from None
        if kind == "ok":
            return payload
        name, message = payload
        raise _ERRORS.get(name, HiveError)(message)

    def _start_child(self):
        if self._child is not None and self._child[0].poll() is None:
            return self._child
        self._stop_child(kill=True)
        # A fresh interpreter, not multiprocessing: spawn would re-run the caller's main script
        # (optimizer scripts rarely guard it), fork would copy a multi-threaded server's SQLite handles.
        request_read, request_write = os.pipe()
        answer_read, answer_write = os.pipe()
        argument = json.dumps([request_read, answer_write])
        process = subprocess.Popen(
            [sys.executable, "-c", "import sys, storage.duck as d; d._child_main(sys.argv[1])", argument],
            pass_fds=(request_read, answer_write), stdin=subprocess.DEVNULL, close_fds=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)},
        )
        os.close(request_read)
        os.close(answer_write)
        self._child = (process, Connection(request_write, readable=False), Connection(answer_read, writable=False))
        # The target goes through the pipe, not argv, where any local user could read it.
        self._child[1].send((self.url.render_as_string(hide_password=False), self.project_id, self.timeout_s))
        return self._child

    def _stop_child(self, kill: bool = False) -> None:
        if self._child is None:
            return
        process, requests, answers = self._child
        self._child = None
        try:
            if not kill:
                requests.send(None)
        except OSError:
            pass
        requests.close()
        answers.close()
        try:
            process.wait(timeout=0.1 if kill else 5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _child_main(argument: str) -> None:
    requests_fd, answers_fd = json.loads(argument)
    _serve(Connection(requests_fd, writable=False), Connection(answers_fd, readable=False))


def _serve(requests, answers) -> None:
    """The child: attach once, then answer (sql, params, max_rows) until told to stop or orphaned."""
    try:
        url, project_id, timeout_s = requests.recv()
    except (EOFError, OSError):
        return
    try:
        con = attach(sa.make_url(url), project_id)
        failure = None
    except HiveError as error:
        con, failure = None, error
    while True:
        try:
            request = requests.recv()
        except (EOFError, OSError):
            return  # the parent is gone
        if request is None:
            return
        try:
            if failure is not None:
                raise failure
            answer = ("ok", _run(con, *request, timeout_s))
        except HiveError as error:
            answer = ("error", (type(error).__name__, str(error)))
        except Exception as error:  # noqa: BLE001 - the parent needs a message, not a dead pipe
            answer = ("error", ("HiveError", f"query failed: {error}"))
        answers.send(answer)


def _run(cursor, sql: str, params: list, max_rows: int | None, timeout_s: float) -> pd.DataFrame:
    timer = threading.Timer(timeout_s, cursor.interrupt)
    timer.start()
    try:
        relation = cursor.execute(sql, params)
        if max_rows is not None:
            rows = relation.fetchmany(max_rows + 1)
            return pd.DataFrame(rows, columns=[d[0] for d in relation.description])
        return relation.df()
    except Exception as error:  # duckdb's errors -> ours, with the reason
        if type(error).__name__ == "InterruptException":
            raise HiveError(f"query stopped after its {timeout_s:g} s time limit") from None
        raise duck_error(error) from None
    finally:
        timer.cancel()


def attach(url: sa.URL, project_id: str | None):
    import duckdb
    import duckdb_extensions

    try:
        con = duckdb.connect(":memory:", config={"threads": 2})
        # Extensions load from the pinned wheels; DuckDB wants a writable home for its extension dir.
        con.execute("SET home_directory = ?", [tempfile.gettempdir()])
        backend = url.get_backend_name()
        extension = "sqlite" if backend == "sqlite" else "postgres"
        duckdb_extensions.import_extension(extension, con=con)
        con.execute(f"LOAD {extension}")
        # ATTACH takes no parameters; the target is configuration (not user input), quoted as a literal.
        if backend == "sqlite":
            con.execute(f"ATTACH {_sql_literal(url.database)} AS db (TYPE SQLITE, READ_ONLY)")
        else:
            con.execute(f"ATTACH {_sql_literal(libpq_dsn(url, project_id))} AS db (TYPE POSTGRES, READ_ONLY)")
        con.execute("USE db")
        # After attaching: no reading or writing local files, no new extensions, no changing that.
        con.execute("SET enable_external_access = false")
        con.execute("SET autoinstall_known_extensions = false")
        con.execute("SET autoload_known_extensions = false")
        con.execute("SET lock_configuration = true")
    except Exception as error:  # noqa: BLE001
        raise duck_error(error) from None
    return con


def libpq_dsn(url: sa.URL, project_id: str | None) -> str:
    # project_id has been checked by the Reader (letters, digits and _ . : @ - only).
    parts = {
        "host": url.host or "localhost",
        "port": str(url.port or 5432),
        "dbname": url.database or "",
        "user": url.username or "",
        "password": url.password or "",
        "application_name": "hive-duckdb",
        "options": "-c default_transaction_read_only=on"
        + (f" -c app.project_id={project_id}" if project_id is not None else ""),
    }
    return " ".join(f"{k}={_libpq_quote(v)}" for k, v in parts.items() if v != "")


def _sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _libpq_quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def duck_error(error: Exception) -> HiveError:
    if isinstance(error, HiveError):
        return error
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    name = type(error).__name__
    if name in ("IOException", "ConnectionException"):
        return StorageUnavailableError(f"database unavailable: {text}")
    if name in ("PermissionException",):
        return ValidationError(f"not allowed: {text}")
    return HiveError(f"query failed: {text}")
