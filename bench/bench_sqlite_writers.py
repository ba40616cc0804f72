"""How fast can anything Python has write evaluations into SQLite on this machine? The ceiling that
issue #14's 250,000 evaluations/s meets.

The same 100,000 finished rows (the seed's shape: 4 parameters, 2 objectives, JSON-encoded as the
store encodes them; batches of 5,000, one transaction each) go into three tables by three writers:

tables
- today: ``study_runs`` as the store creates it (text keys, the run_id primary key, five indexes);
- lean: an integer study key, clustered on (study, evaluation_number) ``WITHOUT ROWID``, the fitness
  index, no run_id (the leanest the seed's queries allow);
- bare: the same with no secondary index at all (a floor, not a usable layout);

writers
- ``sqlite3.executemany`` (Python's driver, binding in C);
- DuckDB's SQLite writer (``INSERT INTO sqlite_db.t SELECT * FROM frame``, the pinned extension);
- one ``INSERT ... SELECT FROM json_each(?)`` a batch (SQLite parses the batch itself).

    python bench/bench_sqlite_writers.py
"""
from __future__ import annotations

import json
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from storage import DatabaseMetadataService  # noqa: E402

N, BATCH, STUDY_SIZE = 100_000, 5_000, 5_000
LEAN = """CREATE TABLE study_runs (study_key INTEGER NOT NULL, evaluation_number INTEGER NOT NULL,
  generation_number INTEGER, parameter_vector TEXT NOT NULL, fitness REAL NOT NULL, objectives TEXT, created_at TEXT,
  design_key INTEGER, PRIMARY KEY (study_key, evaluation_number)) WITHOUT ROWID"""


def rows_for(layout: str) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 100, (N, 4))
    total = X.sum(axis=1)
    number = np.arange(N) % STUDY_SIZE
    study = np.arange(N) // STUDY_SIZE
    frame = pd.DataFrame({
        "evaluation_number": number, "generation_number": number // 50,
        "parameter_vector": [json.dumps(r, separators=(",", ":")) for r in X.tolist()],
        "fitness": total, "objectives": [json.dumps([a, 400 - a], separators=(",", ":")) for a in total.tolist()],
        "created_at": "2026-11-29 10:00:00.000000", "design_key": rng.integers(-2**62, 2**62, N)})
    if layout == "today":
        frame.insert(0, "study_id", [f"ga_{s:03d}" for s in study])
        frame.insert(0, "run_id", [f"ga_{s:03d}:{k}" for s, k in zip(study, number)])
    else:
        frame.insert(0, "study_key", study)
    return frame


def fresh(folder: Path, layout: str, writer: str) -> str:
    path = str(folder / f"{layout}_{writer}.db")
    if layout == "today":
        service = DatabaseMetadataService(path)  # the store's schema, and the studies the rows point at
        for s in range(N // STUDY_SIZE):
            service.create_study({"study_id": f"ga_{s:03d}", "study_type": "genetic_algorithm"})
        service.close()
    else:
        con = sqlite3.connect(path)
        con.execute("PRAGMA journal_mode = WAL")
        con.execute(LEAN)
        if layout == "lean":
            con.execute("CREATE INDEX idx_fitness ON study_runs (study_key, fitness)")
        con.close()
    return path


def write(path: str, frame: pd.DataFrame, writer: str) -> float:
    columns = list(frame.columns)
    listed = ", ".join(columns)
    if writer == "duckdb":
        import duckdb
        import duckdb_extensions

        con = duckdb.connect()
        con.execute("SET home_directory = ?", [tempfile.gettempdir()])
        duckdb_extensions.import_extension("sqlite", con=con)
        con.execute("LOAD sqlite")
        con.execute(f"ATTACH '{path}' AS s (TYPE sqlite)")
        started = time.perf_counter()
        for i in range(0, N, BATCH):
            part = frame.iloc[i:i + BATCH]  # noqa: F841 (read by DuckDB by name)
            con.execute("BEGIN")
            con.execute(f"INSERT INTO s.study_runs ({listed}) SELECT {listed} FROM part")
            con.execute("COMMIT")
        elapsed = time.perf_counter() - started
        con.close()
        return N / elapsed
    rows = list(frame.itertuples(index=False, name=None))
    con = sqlite3.connect(path, isolation_level=None)
    for pragma in ("foreign_keys = ON", "synchronous = NORMAL", "cache_size = -32768"):  # as storage.engine
        con.execute(f"PRAGMA {pragma}")
    picked = ", ".join(f"value ->> {i}" for i in range(len(columns)))
    started = time.perf_counter()
    for i in range(0, N, BATCH):
        con.execute("BEGIN IMMEDIATE")
        if writer == "executemany":
            con.executemany(f"INSERT INTO study_runs ({listed}) VALUES ({', '.join('?' * len(columns))})",
                            rows[i:i + BATCH])
        else:
            con.execute(f"INSERT INTO study_runs ({listed}) SELECT {picked} FROM json_each(?)",
                        (json.dumps(rows[i:i + BATCH]),))
        con.execute("COMMIT")
    elapsed = time.perf_counter() - started
    con.close()
    return N / elapsed


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="hive_writers_"))
    print(f"{N:,} rows, batches of {BATCH:,}; SQLite {sqlite3.sqlite_version}; load {os.getloadavg()[0]:.1f}")
    print(f"{'table':<8}{'executemany':>14}{'duckdb':>12}{'json_each':>12}{'bytes/row':>11}")
    for layout in ("today", "lean", "bare"):
        frame = rows_for(layout)
        rates, size = [], 0
        for writer in ("executemany", "duckdb", "json_each"):
            path = fresh(folder, layout, writer)
            rates.append(write(path, frame, writer))
            with sqlite3.connect(path) as con:
                con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            size = os.path.getsize(path) / N
        print(f"{layout:<8}" + "".join(f"{r:>12,.0f}/s" if i == 0 else f"{r:>10,.0f}/s" for i, r in enumerate(rates))
              + f"{size:>11.0f}")


if __name__ == "__main__":
    main()
