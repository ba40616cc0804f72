"""Schema versions: recognise what a database holds, create it at head, upgrade it, refuse to guess.

A database is one of:
- ``empty``: no tables; the store creates the whole schema at head on first open.
- ``current``: at the head revision.
- ``legacy``: made by the old service (its two tables, no alembic_version table); upgradable.
- ``behind``: at an older revision; upgradable.
- ``unknown``: an alembic revision this code does not know (a newer hive, or another project).
- ``foreign``: tables that are neither ours nor the old service's.

Opening a ``legacy`` or ``behind`` database fails with the exact ``hive-cli db upgrade`` command;
creation and upgrades run under a lock (SQLite's write lock, a PostgreSQL advisory lock) inside one
transaction, so concurrent processes create the schema exactly once and a failed upgrade leaves the
database as it was.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from .engine import cli_argument, display_url, is_sqlite, transaction, use_wal
from .errors import SchemaBehindError, SchemaError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
LEGACY_REVISION = "0001_legacy_baseline"
SCHEMA_LOCK_KEY = 0x68697665  # "hive": the PostgreSQL advisory lock that serialises schema changes

LEGACY_COLUMNS = {
    "simulation_runs": [
        "run_id", "run_name", "system_config_path", "status", "start_time", "end_time",
        "execution_time_seconds", "total_cost", "co2_emissions", "renewable_fraction",
        "self_sufficiency_rate", "results_path", "created_at", "metadata_json",
    ],
    "studies": [
        "study_id", "study_name", "description", "base_system_config_path", "run_count",
        "created_at", "updated_at", "metadata_json",
    ],
}


@dataclass(frozen=True)
class SchemaState:
    kind: str
    revision: str | None
    head: str
    tables: tuple[str, ...]


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


# Read once per process: parsing the migration scripts costs ~0.05 s, and they are this code's own.
@functools.cache
def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


@functools.cache
def known_revisions() -> frozenset[str]:
    return frozenset(script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions())


def inspect_schema(conn: Connection) -> SchemaState:
    head = head_revision()
    tables = tuple(sorted(sa.inspect(conn).get_table_names()))
    if "alembic_version" in tables:
        revision = MigrationContext.configure(conn).get_current_revision()
        if revision == head:
            kind = "current"
        elif revision in known_revisions():
            kind = "behind"
        elif revision is None:
            kind = "empty" if tables == ("alembic_version",) else "foreign"
        else:
            kind = "unknown"
        return SchemaState(kind, revision, head, tables)
    if not tables:
        return SchemaState("empty", None, head, tables)
    inspector = sa.inspect(conn)
    if set(tables) <= set(LEGACY_COLUMNS) and all(
        [c["name"] for c in inspector.get_columns(t)] == LEGACY_COLUMNS[t] for t in tables
    ):
        return SchemaState("legacy", None, head, tables)
    return SchemaState("foreign", None, head, tables)


def _lock(conn: Connection) -> None:
    # On SQLite the write transaction already holds the database's write lock (BEGIN IMMEDIATE).
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})


def _refuse(state: SchemaState, engine: Engine) -> None:
    where = display_url(engine.url)
    if state.kind == "unknown":
        raise SchemaError(
            f"database {where} is at revision {state.revision!r}, which this code does not know "
            f"(it expects {state.head}); it was made by a newer hive or by another program"
        )
    if state.kind == "foreign":
        raise SchemaError(
            f"database {where} holds tables that are not a hive store ({', '.join(state.tables[:8])}); "
            "point hive at an empty database or one made by hive"
        )


def ensure_current(engine: Engine) -> bool:
    """Make sure the schema is at head before use; returns True when this call created it.

    Only an empty database is changed here. Anything older raises ``SchemaBehindError`` naming the
    upgrade command, so nobody's data is migrated as a side effect of opening it.
    """
    with transaction(engine, write=False) as conn:
        state = inspect_schema(conn)
    if state.kind == "current":
        use_wal(engine)
        return False
    if state.kind == "empty":
        use_wal(engine)
        with transaction(engine, write=True) as conn:
            _lock(conn)
            state = inspect_schema(conn)  # another process may have created it meanwhile
            if state.kind == "empty":
                command.upgrade(alembic_config(conn), "head")
                return True
    if state.kind == "current":
        return False
    if state.kind in ("legacy", "behind"):
        raise SchemaBehindError(cli_argument(engine.url), state.revision, state.head)
    _refuse(state, engine)
    raise SchemaError(f"unexpected schema state {state.kind!r}")


def upgrade(engine: Engine, target: str = "head") -> tuple[SchemaState, SchemaState]:
    """Bring any of our databases (empty, legacy, behind) to ``target`` in one transaction."""
    with transaction(engine, write=True) as conn:
        _lock(conn)
        before = inspect_schema(conn)
        _refuse(before, engine)
        config = alembic_config(conn)
        if before.kind == "legacy":
            command.stamp(config, LEGACY_REVISION)
        command.upgrade(config, target)
        after = inspect_schema(conn)
    use_wal(engine)
    return before, after


def downgrade(engine: Engine, target: str) -> tuple[SchemaState, SchemaState]:
    with transaction(engine, write=True) as conn:
        _lock(conn)
        before = inspect_schema(conn)
        _refuse(before, engine)
        command.downgrade(alembic_config(conn), target)
        after = inspect_schema(conn)
    return before, after


def describe(engine: Engine) -> dict:
    """What ``hive-cli db info`` prints: where, which backend, which revision, how many rows."""
    with transaction(engine, write=False) as conn:
        state = inspect_schema(conn)
        counts = {}
        for table in state.tables:
            if table != "alembic_version":
                counts[table] = conn.execute(sa.text(f'SELECT COUNT(*) FROM "{table}"')).scalar_one()
    info = {
        "database": display_url(engine.url),
        "backend": engine.url.get_backend_name(),
        "state": state.kind,
        "revision": state.revision if state.kind != "legacy" else None,
        "head": state.head,
        "tables": counts,
    }
    if is_sqlite(engine) and engine.url.database:
        path = Path(engine.url.database)
        info["file_bytes"] = sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
    return info


def holds_studies(path: str | Path) -> bool:
    """Whether the SQLite file at ``path`` holds at least one study (read-only; a missing file or
    one without the schema holds none). The dashboard asks before filling its embedded default."""
    import sqlite3

    if not Path(path).exists():
        return False
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
            return con.execute("SELECT EXISTS (SELECT 1 FROM studies)").fetchone()[0] == 1
    except sqlite3.Error:
        return False
