"""Consistent copies of a live database, and bringing one back.

SQLite: the online backup API copies a consistent snapshot while writers keep writing (the copy
is taken under a read transaction, so it holds exactly the commits made before it started), and the
copy is checked with ``PRAGMA integrity_check``. Restore uses the same API in the other direction,
under the target's write lock, so readers never see a half-restored file.

PostgreSQL: ``pg_dump`` in its custom format (a snapshot-consistent dump) and ``pg_restore
--clean --if-exists`` (both from the server's client package). The dump needs a role that bypasses
row-level security (``storage.privileges``): under RLS it would hold one project at best, so any other
role is refused before pg_dump starts. After a restore the prompt-analytics view is refreshed: the
restore's own refresh runs under RLS with no project and would leave it empty.
"""
from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

import sqlalchemy as sa

from .engine import create_engine, display_url, resolve_url, transaction
from .errors import HiveError, StorageUnavailableError
from .privileges import require_complete_dump


def backup(url_or_path, destination: str | Path) -> dict:
    url = resolve_url(url_or_path)
    destination = Path(destination)
    if url.get_backend_name() == "sqlite":
        return _sqlite_backup(url, destination)
    return _pg_dump(url, destination)


def restore(source: str | Path, url_or_path) -> dict:
    url = resolve_url(url_or_path)
    source = Path(source)
    if not source.exists():
        raise HiveError(f"backup file {source} does not exist")
    if url.get_backend_name() == "sqlite":
        return _sqlite_restore(source, url)
    return _pg_restore(source, url)


def _sqlite_backup(url: sa.URL, destination: Path) -> dict:
    source_path = url.database
    if not source_path or not Path(source_path).exists():
        raise StorageUnavailableError(f"database {source_path} does not exist")
    if destination.exists():
        raise HiveError(f"{destination} exists; choose a new file name for the backup")
    partial = destination.with_name(destination.name + ".partial")
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True, timeout=60)
    target = sqlite3.connect(partial)
    try:
        source.backup(target)  # one step: a single consistent snapshot
        status = target.execute("PRAGMA integrity_check").fetchone()[0]
        if status != "ok":
            raise HiveError(f"the backup failed its integrity check: {status}")
        target.execute("PRAGMA journal_mode = DELETE")  # a single self-contained file
    finally:
        target.close()
        source.close()
    partial.replace(destination)
    return {"database": display_url(url), "file": str(destination), "bytes": destination.stat().st_size}


def _sqlite_restore(source: Path, url: sa.URL) -> dict:
    check = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        status = check.execute("PRAGMA integrity_check").fetchone()[0]
    except sqlite3.DatabaseError as error:
        raise HiveError(f"{source} is not a SQLite database: {error}") from None
    if status != "ok":
        raise HiveError(f"{source} fails its integrity check ({status}); not restoring it")
    Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    target = sqlite3.connect(url.database, timeout=60)
    try:
        check.backup(target)
        target.execute("PRAGMA journal_mode = WAL")
    finally:
        target.close()
        check.close()
    return {"database": display_url(url), "file": str(source)}


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
        return str(candidate)
    raise HiveError(f"{name} not found: install the PostgreSQL client tools (Debian: postgresql-client)")


def _libpq_url(url: sa.URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _pg_dump(url: sa.URL, destination: Path) -> dict:
    if destination.exists():
        raise HiveError(f"{destination} exists; choose a new file name for the backup")
    engine = create_engine(url)
    try:
        with transaction(engine, write=False) as conn:
            require_complete_dump(conn, display_url(url))
    finally:
        engine.dispose()
    result = subprocess.run(
        [_pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", f"--file={destination}",
         f"--dbname={_libpq_url(url)}"],
        capture_output=True, text=True,
    )
    if result.returncode != 0:
        destination.unlink(missing_ok=True)
        raise StorageUnavailableError(f"pg_dump of {display_url(url)} failed: {result.stderr.strip().splitlines()[-1]}")
    return {"database": display_url(url), "file": str(destination), "bytes": destination.stat().st_size}


def _pg_restore(source: Path, url: sa.URL) -> dict:
    # Rows are loaded before the dump's post-data section turns row-level security on, so they all
    # come back. --enable-row-security lets the restore's REFRESH of the analytics view run under the
    # (forced) policies instead of failing; it aggregates nothing there and is refreshed right after.
    result = subprocess.run(
        [_pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
         "--enable-row-security",
         f"--dbname={_libpq_url(url)}", str(source)],
        capture_output=True, text=True,
    )
    if result.returncode != 0:
        raise StorageUnavailableError(f"pg_restore into {display_url(url)} failed: {result.stderr.strip().splitlines()[-1]}")
    engine = create_engine(url)
    try:
        with transaction(engine) as conn:
            if conn.exec_driver_sql("SELECT to_regproc('hive_refresh_optimization_analytics')").scalar() is not None:
                conn.exec_driver_sql("SELECT hive_refresh_optimization_analytics()")
    finally:
        engine.dispose()
    return {"database": display_url(url), "file": str(source)}
