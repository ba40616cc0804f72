"""Write throughput and size on disk, through the public write API, beside the raw driver, for
SQLite and PostgreSQL.

Workload: the seed's shape. Studies of 50 individuals x 100 generations (5,000 evaluations each),
4 parameters (names declared once on the study), 2 objectives. Each path runs on a fresh database:

- records: ``log_study_runs`` with a list of dicts, batches of 1,000;
- columns: ``log_study_runs`` with a dict of numpy arrays (2-D parameter_vector and objectives),
  batches of 5,000 (a whole study);
- DataFrame: ``log_study_runs`` with a pandas DataFrame, one column per named parameter and
  objective, batches of 5,000;
- raw: the same finished rows (read back from the columns path's database) inserted by the driver
  alone into the same table and indexes, batches of 5,000: ``sqlite3`` ``executemany``, or on
  PostgreSQL psycopg ``COPY`` into a temporary table and one ``INSERT ... SELECT`` (``COPY FROM`` into
  a table with row-level security is refused). What the store's own work costs is the distance to
  this line.

Then each study of the columns path is marked completed (Pareto flags, the final front with its
hypervolume, 100 convergence rows): the median time of one completion is printed. Bytes per
evaluation: SQLite file after a WAL checkpoint; PostgreSQL pg_total_relation_size of every table.

    python bench/bench_write.py                      # SQLite, 20 studies (100,000 evaluations)
    python bench/bench_write.py --studies 40 --pg-url postgresql://user:pw@localhost/db

Each path runs --repeat times; medians are printed.
"""
from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from storage import DatabaseMetadataService  # noqa: E402

POPULATION, GENERATIONS, PARAMETERS = 50, 100, 4
RECORD_BATCH, COLUMN_BATCH = 1_000, 5_000
NAMES = [f"x{i}" for i in range(PARAMETERS)]
# The finished rows the raw line inserts: every column the store wrote for the columns path.
RAW_COLUMNS = ("run_id", "study_id", "evaluation_number", "generation_number", "parameter_vector", "fitness",
               "objectives", "created_at", "design_key")


def workload(studies: int, seed: int = 0) -> list[dict]:
    """One dict of arrays per study: X (5,000 x 4), F (5,000 x 2), generation numbers."""
    rng = np.random.default_rng(seed)
    n = POPULATION * GENERATIONS
    plan = []
    for s in range(studies):
        X = rng.uniform(0, 100, (n, PARAMETERS))
        total = X.sum(axis=1)
        F = np.column_stack([total + rng.random(n), 400 - total + rng.random(n)])
        plan.append({"study_id": f"ga_{s:03d}", "X": X, "F": F,
                     "generation": np.arange(n) // POPULATION, "number": np.arange(n)})
    return plan


def batches(plan: list[dict], shape: str):
    """The batches of one path, built before the clock starts."""
    for study in plan:
        n = len(study["X"])
        if shape == "records":
            X, F = study["X"].tolist(), study["F"].tolist()
            runs = [{"study_id": study["study_id"], "evaluation_number": e, "generation_number": e // POPULATION,
                     "parameter_vector": X[e], "objectives": F[e]} for e in range(n)]
            yield from (runs[i:i + RECORD_BATCH] for i in range(0, n, RECORD_BATCH))
        elif shape == "columns":
            for i in range(0, n, COLUMN_BATCH):
                part = slice(i, i + COLUMN_BATCH)
                yield {"study_id": [study["study_id"]] * len(study["number"][part]),
                       "evaluation_number": study["number"][part], "generation_number": study["generation"][part],
                       "parameter_vector": study["X"][part], "objectives": study["F"][part]}
        else:
            frame = pd.DataFrame(study["X"], columns=NAMES)
            frame.insert(0, "study_id", study["study_id"])
            frame["evaluation_number"], frame["generation_number"] = study["number"], study["generation"]
            frame["cost"], frame["co2"] = study["F"][:, 0], study["F"][:, 1]
            yield from (frame.iloc[i:i + COLUMN_BATCH] for i in range(0, n, COLUMN_BATCH))


def create_studies(service: DatabaseMetadataService, plan: list[dict]) -> None:
    for study in plan:
        service.create_study({
            "study_id": study["study_id"], "study_type": "genetic_algorithm", "optimization_objective": "cost,co2",
            "population_size": POPULATION, "max_generations": GENERATIONS, "parameter_names": NAMES,
            "status": "running",
        })


def store_path(url: str, plan: list[dict], shape: str, complete: bool) -> dict:
    service = DatabaseMetadataService(url)
    create_studies(service, plan)
    evaluations = sum(len(study["X"]) for study in plan)
    work = list(batches(plan, shape))
    started = time.perf_counter()
    for batch in work:
        service.log_study_runs(batch)
    result = {"rate": evaluations / (time.perf_counter() - started)}
    if complete:
        with service.engine.connect() as conn:
            result["rows"] = conn.exec_driver_sql(
                f"SELECT {', '.join(RAW_COLUMNS)} FROM study_runs ORDER BY study_id, evaluation_number").all()
        times = []
        for study in plan:
            started = time.perf_counter()
            service.update_study_status(study["study_id"], "completed")
            times.append(time.perf_counter() - started)
        result["completion_ms"] = 1000 * statistics.median(times)
        result["bytes"] = disk_bytes(service) / evaluations
    service.close()
    return result


def raw_path(url: str, backend: str, plan: list[dict], rows: list[tuple]) -> dict:
    """The driver alone: the finished rows into the same (empty) table and indexes."""
    service = DatabaseMetadataService(url)  # the store's schema, and the studies the rows point at
    create_studies(service, plan)
    service.close()
    rows = [tuple(row) for row in rows]
    marks = ", ".join("?" * len(RAW_COLUMNS))
    if backend == "sqlite":
        conn = sqlite3.connect(url, isolation_level=None)
        for pragma in ("foreign_keys = ON", "synchronous = NORMAL", "cache_size = -32768"):  # as storage.engine
            conn.execute(f"PRAGMA {pragma}")
        started = time.perf_counter()
        for i in range(0, len(rows), COLUMN_BATCH):
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(f"INSERT INTO study_runs ({', '.join(RAW_COLUMNS)}) VALUES ({marks})",
                             rows[i:i + COLUMN_BATCH])
            conn.execute("COMMIT")
        elapsed = time.perf_counter() - started
        conn.close()
    else:
        import psycopg

        # COPY FROM is refused on tables with row-level security (every study table has it): the
        # driver's fastest way in is COPY into a temporary table, then one INSERT ... SELECT a batch.
        listed = ", ".join(RAW_COLUMNS)
        dsn = sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(dsn, options="-c app.project_id=default") as conn:
            conn.execute("CREATE TEMPORARY TABLE staged (LIKE study_runs INCLUDING DEFAULTS) ON COMMIT DELETE ROWS")
            conn.commit()  # each batch below is then a transaction of its own, which empties the table
            started = time.perf_counter()
            for i in range(0, len(rows), COLUMN_BATCH):
                with conn.transaction(), conn.cursor() as cursor:
                    with cursor.copy(f"COPY staged ({listed}) FROM STDIN") as copy:
                        for row in rows[i:i + COLUMN_BATCH]:
                            copy.write_row(row)
                    cursor.execute(f"INSERT INTO study_runs ({listed}) SELECT {listed} FROM staged")
            elapsed = time.perf_counter() - started
    return {"rate": len(rows) / elapsed}


def disk_bytes(service: DatabaseMetadataService) -> int:
    if service.url.get_backend_name() == "sqlite":
        with service.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        path = Path(service.url.database)
        return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
    with service.engine.connect() as conn:
        return conn.execute(sa.text(
            "SELECT SUM(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind = 'r'"
        )).scalar()


def fresh_sqlite(directory: Path, i: int) -> str:
    return str(directory / f"bench_{i}.db")


def fresh_postgres(admin_url: str, i: int) -> str:
    admin = sa.create_engine(sa.make_url(admin_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    name = f"hive_bench_{os.getpid()}_{i}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_postgres(admin_url: str, url: str) -> None:
    admin = sa.create_engine(sa.make_url(admin_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{sa.make_url(url).database}" WITH (FORCE)')
    admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--studies", type=int, default=20, help="studies of 5,000 evaluations (default 20)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pg-url", default=os.environ.get("HIVE_BENCH_PG_URL"), help="PostgreSQL admin URL (CREATE DATABASE)")
    args = parser.parse_args()
    plan = workload(args.studies)
    evaluations = sum(len(study["X"]) for study in plan)
    print(f"workload: {args.studies} studies x {POPULATION * GENERATIONS:,} evaluations = {evaluations:,}; "
          f"{PARAMETERS} parameters, 2 objectives; median of {args.repeat}; load {os.getloadavg()[0]:.1f}")
    backends = [("sqlite", None)] + ([("postgresql", args.pg_url)] if args.pg_url else [])
    paths = [("records", f"log_study_runs(list of dicts), batches of {RECORD_BATCH:,}"),
             ("columns", f"log_study_runs(dict of numpy arrays), batches of {COLUMN_BATCH:,}"),
             ("dataframe", f"log_study_runs(DataFrame, a column per name), batches of {COLUMN_BATCH:,}")]
    with tempfile.TemporaryDirectory() as tmp:
        for backend, admin_url in backends:
            counter = iter(range(10_000))

            def fresh() -> str:
                return fresh_sqlite(Path(tmp), next(counter)) if backend == "sqlite" else fresh_postgres(admin_url, next(counter))

            def run(measure):
                url = fresh()
                try:
                    return measure(url)
                finally:
                    if backend == "postgresql":
                        drop_postgres(admin_url, url)

            results: dict[str, list[dict]] = {name: [] for name, _ in paths}
            results["raw"] = []
            for _ in range(args.repeat):  # paths interleaved, so a change of machine load touches all alike
                for name, _ in paths:
                    results[name].append(run(lambda url: store_path(url, plan, name, complete=name == "columns")))
                rows = results["columns"][-1].pop("rows")
                results["raw"].append(run(lambda url: raw_path(url, backend, plan, rows)))
            raw = statistics.median(r["rate"] for r in results["raw"])
            driver = "sqlite3 executemany" if backend == "sqlite" else "psycopg COPY + INSERT ... SELECT"
            print(f"\n{backend}: {'path':<66}{'evals/s':>10}{'raw / path':>12}")
            for name, label in paths:
                rate = statistics.median(r["rate"] for r in results[name])
                print(f"{'':<{len(backend) + 2}}{label:<66}{rate:>10,.0f}{raw / rate:>11.2f}x")
            print(f"{'':<{len(backend) + 2}}{'raw ' + driver + ' of the same rows, batches of 5,000':<66}{raw:>10,.0f}")
            completion = statistics.median(r["completion_ms"] for r in results["columns"])
            size = statistics.median(r["bytes"] for r in results["columns"])
            print(f"{'':<{len(backend) + 2}}completion of a 5,000-evaluation study: {completion:.1f} ms; "
                  f"{size:,.0f} bytes per evaluation on disk")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
