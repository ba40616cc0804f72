"""How a batch goes in, for both domains (studies, prompt optimization): its rows as columns in one
statement per table, with Python's cyclic garbage collector paused while the batch is built."""
from __future__ import annotations

import gc
from contextlib import contextmanager

from sqlalchemy import exc
from sqlalchemy.engine import Connection


@contextmanager
def collection_paused():
    """Pause Python's cyclic garbage collector for one batch.

    A batch allocates a dozen objects per row; each allocation burst triggers collections that
    walk the caller's entire heap (an optimizer holding its population, say), which measured
    slower than the insert itself. The batch creates no reference cycles, so nothing is missed.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def bulk_insert(conn: Connection, table: str, names: list[str], columns: list[list]) -> None:
    """Many rows given as columns (one list per name). SQLite: one executemany. PostgreSQL: COPY
    into a temporary table of the same shape, then one INSERT ... SELECT into ``table``. COPY FROM is
    refused on tables with row-level security, which every study table has; a temporary table has
    none, and the INSERT applies the policies. Twice the rate of INSERT ... SELECT FROM unnest of
    the same arrays (bench/bench_write.py: 27,000-30,000 against 14,000 rows/s)."""
    rows = list(zip(*columns))
    if conn.dialect.name != "postgresql":
        marks = ", ".join("?" * len(names))
        conn.exec_driver_sql(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})", rows)
        return
    staging, listed = f"hive_batch_{table}", ", ".join(names)
    # One per connection, emptied when the transaction ends (committed or rolled back).
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE IF NOT EXISTS {staging} (LIKE {table} INCLUDING DEFAULTS) "
                         "ON COMMIT DELETE ROWS")
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        with cursor.copy(f"COPY {staging} ({listed}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    except conn.dialect.loaded_dbapi.Error as error:  # -> SQLAlchemy's types, like every other statement
        raise exc.DBAPIError.instance(f"COPY {staging}", None, error, conn.dialect.loaded_dbapi.Error) from error
    finally:
        cursor.close()
    conn.exec_driver_sql(f"INSERT INTO {table} ({listed}) SELECT {listed} FROM {staging}")
