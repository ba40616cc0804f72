"""Where the database is and how we talk to it: URL resolution, engines, transactions.

One context manager, ``transaction``, owns every transaction: it commits, rolls back, closes, and
turns driver errors into the store's own exceptions. Writes on SQLite take the write lock up front
(``BEGIN IMMEDIATE``), so a read-then-write sequence such as "next evaluation number" cannot
interleave with another process; on PostgreSQL the writer locks the study rows it touches.
"""
from __future__ import annotations

import os
import re
import shlex
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

from .errors import HiveError, StorageUnavailableError, ValidationError

DEFAULT_PATH_ENV = "HIVE_DB_URL"
SQLITE_BUSY_TIMEOUT_S = 60.0
# Studies and prompt runs belong to a project; callers that name none work in this one.
DEFAULT_PROJECT = "default"
# Safe as a libpq ``-c`` option value and in a URL path: no spaces, quotes or backslashes.
PROJECT_ID_PATTERN = r"^[A-Za-z0-9_.:@-]{1,200}$"


def check_project_id(value: object) -> str:
    if not isinstance(value, str) or not re.fullmatch(PROJECT_ID_PATTERN, value):
        raise ValidationError(f"project_id={value!r}: 1-200 letters, digits and _ . : @ - only")
    return value


def connection_project(conn: Connection) -> str:
    """The project a connection of ``create_engine(url, project_id=...)`` works in."""
    return conn.info.get("hive_project_id", DEFAULT_PROJECT)


def default_database_path() -> Path:
    """The embedded default: ``$HIVE_HOME/hive.db``, ``~/.hive/hive.db`` when HIVE_HOME is unset."""
    home = os.environ.get("HIVE_HOME")
    return Path(home).expanduser() / "hive.db" if home else Path.home() / ".hive" / "hive.db"


def resolve_url(url_or_path: str | os.PathLike | sa.URL | None = None) -> sa.URL:
    """A SQLAlchemy URL from a URL, a file path, ``":memory:"``, or nothing (``$HIVE_DB_URL``, then the default file)."""
    if isinstance(url_or_path, sa.URL):
        return url_or_path
    if url_or_path is None:
        url_or_path = os.environ.get(DEFAULT_PATH_ENV) or default_database_path()
    text = os.fspath(url_or_path)
    if text == ":memory:":
        return sa.make_url("sqlite://")
    if "://" not in text:
        return sa.make_url(f"sqlite:///{Path(text).expanduser().resolve()}")
    try:
        url = sa.make_url(text)
    except exc.ArgumentError:
        raise HiveError(f"database URL {text!r} is not a valid URL") from None
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise HiveError(f"database URL {url.render_as_string(hide_password=True)!r}: only sqlite and postgresql are supported")
    return url


def display_url(url: sa.URL) -> str:
    """The URL as a user would type it to ``hive-cli``: a file path for SQLite, no password."""
    if url.get_backend_name() == "sqlite":
        return url.database or ":memory:"
    return url.render_as_string(hide_password=True).replace("+psycopg", "", 1)


def cli_argument(url: sa.URL) -> str:
    """``display_url`` quoted for a shell command line."""
    return shlex.quote(display_url(url))


def use_wal(engine: Engine) -> None:
    """Put a SQLite file in WAL mode (persistent in the file; a no-op when already set)."""
    if is_sqlite(engine) and engine.url.database and engine.url.database != ":memory:":
        raw = engine.raw_connection()  # outside any transaction, as SQLite requires for this pragma
        try:
            _switch_to_wal(raw.cursor())
        finally:
            raw.close()


def _switch_to_wal(cursor) -> None:
    # The switch upgrades a shared lock to an exclusive one; when another process holds a lock
    # SQLite answers "database is locked" at once instead of waiting (its deadlock rule), so the
    # busy timeout does not apply: retry while it is locked.
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL").fetchone()
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) and "busy" not in str(error):
                raise
        if time.monotonic() > deadline:
            raise StorageUnavailableError(f"could not switch the SQLite file to WAL mode within {SQLITE_BUSY_TIMEOUT_S:.0f} s: it stays locked")
        time.sleep(0.02)


def is_sqlite(engine_or_url: Engine | sa.URL) -> bool:
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else engine_or_url
    return url.get_backend_name() == "sqlite"


def create_engine(url: sa.URL, project_id: str = DEFAULT_PROJECT, application_name: str = "hive") -> Engine:
    """The store's engine. Every connection works in ``project_id``: on PostgreSQL it carries
    ``app.project_id`` (row-level security keys on it), on both backends ``connection_project``
    tells the writer which project new rows belong to and which studies it may touch."""
    check_project_id(project_id)
    if url.get_backend_name() == "sqlite":
        engine = _create_sqlite_engine(url)
    else:
        engine = sa.create_engine(
            url,
            pool_pre_ping=True,
            pool_size=5,
            max_overflow=10,
            connect_args={"connect_timeout": 10, "application_name": application_name,
                          "options": f"-c app.project_id={project_id}"},
        )

    @event.listens_for(engine, "connect")
    def _remember_project(_dbapi_connection, record):
        record.info["hive_project_id"] = project_id

    return engine


def _create_sqlite_engine(url: sa.URL) -> Engine:
    in_memory = not url.database or url.database == ":memory:"
    if not in_memory:
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        url,
        # The driver's own transaction handling is switched off; the "begin" hook below decides.
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "isolation_level": None, "check_same_thread": False},
        poolclass=StaticPool if in_memory else None,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        cursor.execute("PRAGMA foreign_keys = ON")
        # 8 KiB pages (effective only while the file is empty): fewer, fuller B-tree pages.
        cursor.execute("PRAGMA page_size = 8192")
        if not in_memory:
            # WAL (switched on once, by storage.migrate, for databases that are ours): readers never
            # block the writer, and NORMAL sync is then durable against a killed process.
            cursor.execute("PRAGMA synchronous = NORMAL")
            # Checkpoint every 16,384 pages (128 MiB of WAL) instead of 1,000: index pages rewritten
            # by many commits reach the database file once per checkpoint, not once per commit.
            cursor.execute("PRAGMA wal_autocheckpoint = 16384")
            cursor.execute("PRAGMA journal_size_limit = 67108864")
        cursor.execute("PRAGMA cache_size = -32768")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("hive_write") else "BEGIN")

    return engine


@contextmanager
def transaction(engine: Engine, write: bool = True) -> Iterator[Connection]:
    """One all-or-nothing transaction; driver errors leave as ``HiveError`` subclasses."""
    try:
        with engine.connect() as conn:
            conn.execution_options(hive_write=write)
            with conn.begin():
                yield conn
    except HiveError:
        raise
    except exc.DBAPIError as error:
        raise translate_error(error, engine) from error


def translate_error(error: exc.DBAPIError, engine: Engine) -> HiveError:
    """Map a driver error that no caller handled to the store's exception with a readable message."""
    text = str(error.orig) if error.orig is not None else str(error)
    where = display_url(engine.url)
    lowered = text.lower()
    if "database is locked" in lowered or "database is busy" in lowered:
        return StorageUnavailableError(
            f"database {where} stayed locked by another writer for over {SQLITE_BUSY_TIMEOUT_S:.0f} s; nothing was written"
        )
    if "database or disk is full" in lowered or "no space left" in lowered or "could not extend file" in lowered:
        return StorageUnavailableError(f"database {where} is full; nothing was written ({text.strip()})")
    if isinstance(error, exc.IntegrityError):
        return ValidationError(f"refused by the database: {text.strip()}")
    if isinstance(error, (exc.OperationalError, exc.InterfaceError)):
        return StorageUnavailableError(f"database {where} is unavailable: {text.strip().splitlines()[0]}")
    return HiveError(f"database error on {where}: {text.strip().splitlines()[0] if text.strip() else error}")
